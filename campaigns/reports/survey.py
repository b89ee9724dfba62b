"""The "why did you stop?" answers as staff read them: counts per answer for a campaign, and
every answer as a table for CSV and XLSX, formula-safe like every export of the product."""

from __future__ import annotations

from dataclasses import dataclass

import tablib
from django.db.models import Count, QuerySet

from campaigns.models import Campaign, SurveyReason, SurveyResponse
from learners.imports.widgets import neutralize_formula

HEADERS = [
    "answered_at",
    "campaign",
    "learner_lms_id",
    "learner_email",
    "reason",
    "reason_label",
    "comment",
]


@dataclass(frozen=True)
class AnswerCount:
    code: str
    label: str
    count: int


def answer_counts(*, campaign: Campaign) -> list[AnswerCount]:
    """How many answers of each kind came from the campaign's emails, most first (two
    queries: the counts, and the labels)."""
    rows = (
        SurveyResponse.objects.filter(campaign=campaign)
        .order_by()
        .values("reason")
        .annotate(n=Count("pk"))
    )
    labels = dict(SurveyReason.objects.values_list("code", "label"))
    counts = [AnswerCount(r["reason"], labels.get(r["reason"], r["reason"]), r["n"]) for r in rows]
    return sorted(counts, key=lambda c: (-c.count, c.label))


def answers_table(responses: QuerySet[SurveyResponse]) -> tablib.Dataset:
    """One row per answer; every cell a spreadsheet could run as a formula is neutralized
    (learners type the comment, staff the labels)."""
    labels = dict(SurveyReason.objects.values_list("code", "label"))
    data = tablib.Dataset(title="Answers")
    data.headers = HEADERS
    rows = responses.order_by("created_at", "pk").values_list(
        "created_at",
        "campaign__slug",
        "learner__external_id",
        "learner__email",
        "reason",
        "comment",
    )
    for at, slug, lms_id, email, reason, comment in rows.iterator(chunk_size=2000):
        data.append(
            [
                neutralize_formula(value)
                for value in (
                    at.isoformat(),
                    slug or "",
                    lms_id,
                    email,
                    reason,
                    labels.get(reason, reason),
                    comment,
                )
            ]
        )
    return data


def csv_bytes(responses: QuerySet[SurveyResponse]) -> bytes:
    return str(answers_table(responses).export("csv")).encode()


def xlsx_bytes(responses: QuerySet[SurveyResponse]) -> bytes:
    return bytes(answers_table(responses).export("xlsx"))
