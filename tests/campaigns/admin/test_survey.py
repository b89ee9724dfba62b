"""The survey in the admin: the list of answers editors keep, the counts on a campaign's page,
and the export of the answers."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from campaigns.models import Campaign, Enrollment, SurveyReason, SurveyResponse
from tests.campaigns.admin.helpers import client_for, text
from tests.factories import NOW, CampaignFactory, LearnerFactory, staff_user

pytestmark = pytest.mark.django_db


def _answer(campaign: Campaign, reason: str, comment: str = "") -> SurveyResponse:
    learner = LearnerFactory.create()
    Enrollment.objects.create(campaign=campaign, learner=learner, enrolled_at=NOW)
    return SurveyResponse.objects.create(
        learner=learner, campaign=campaign, reason=reason, comment=comment, created_at=NOW
    )


def test_editors_add_and_reword_answers_but_never_change_a_code() -> None:
    editor = client_for(staff_user("erin", "Campaign editors"))
    response = editor.post(
        reverse("admin:campaigns_surveyreason_add"),
        {"code": "no_budget", "label": "No budget for it", "position": 70, "is_active": "on"},
    )
    assert response.status_code == 302
    reason = SurveyReason.objects.get(code="no_budget")
    editor.post(
        reverse("admin:campaigns_surveyreason_change", args=[reason.pk]),
        {"code": "renamed", "label": "No budget", "position": 70},
    )
    reason.refresh_from_db()
    assert (reason.code, reason.label, reason.is_active) == ("no_budget", "No budget", False)
    viewer = client_for(staff_user("victor", "Viewers"))
    assert viewer.get(reverse("admin:campaigns_surveyreason_changelist")).status_code == 200
    assert viewer.get(reverse("admin:campaigns_surveyreason_add")).status_code == 403


def test_the_campaign_page_counts_its_answers(alice: User) -> None:
    campaign = CampaignFactory.create()
    for reason in ("no_time", "no_time", "forgot"):
        _answer(campaign, reason)
    _answer(CampaignFactory.create(), "technical")
    page = text(
        client_for(alice).get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    )
    assert "<td>I didn&#x27;t have time</td><td>no_time</td><td>2</td>" in page
    assert "<td>I forgot about it</td><td>forgot</td><td>1</td>" in page
    assert "Technical problems" not in page.split("Answers")[1].split("</table>")[0]
    assert "a survey answer counts as coming back" in page.lower()


def test_viewers_export_the_selected_answers_as_csv_and_xlsx() -> None:
    campaign = CampaignFactory.create(slug="q4")
    first = _answer(campaign, "no_time", comment="@SUM(A1)")
    viewer = client_for(staff_user("victor", "Viewers"))
    url = reverse("admin:campaigns_surveyresponse_changelist")
    listing = text(viewer.get(url))
    assert "I didn&#x27;t have time" in listing
    response = viewer.post(url, {"action": "export_csv", "_selected_action": [first.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="survey-answers.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][1:] == [
        "q4",
        first.learner.external_id,
        first.learner.email,
        "no_time",
        "I didn't have time",
        "'@SUM(A1)",
    ]
    xlsx = viewer.post(url, {"action": "export_xlsx", "_selected_action": [first.pk]})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"
