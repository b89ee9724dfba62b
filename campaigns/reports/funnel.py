"""The funnel per campaign, step, variant and audience: from enrolled to reactivated.

Counts come from the Send timestamps (one row per message, so "opened" and "clicked" are
unique per message) joined to each enrollment's outcome (:mod:`campaigns.reports.outcomes`),
in one grouped query. Learners whose goal window is still open are counted apart from those
whose outcome is final: their "reactivated" may still grow.

Machine opens (privacy proxies that fetch every image) and bot clicks (link scanners) are not
people reading: :data:`OPENED_BY_A_PERSON` and :data:`CLICKED_BY_A_PERSON` are the one place
they are left out. Feedback keeps every open and click (ESP events, ``Click`` rows) and flags
the automated ones, but writes ``opened_at`` / ``clicked_at`` on the send for a person's only,
so these are those timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from campaigns.models import Audience, Campaign, Send, Step
from campaigns.reports import outcomes

OPENED_BY_A_PERSON = "s.opened_at IS NOT NULL"
CLICKED_BY_A_PERSON = "s.clicked_at IS NOT NULL"


@dataclass
class Counts:
    """What happened to a group of messages (or, for the campaign rows, of enrollments)."""

    enrolled: int = 0
    messages: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0
    reactivated: int = 0
    reactivated_after: int = 0
    completed: int = 0
    sunset: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


# (counter, SQL condition) of the send funnel, in the order of SEND_COLUMNS below.
SEND_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("sent", "s.sent_at IS NOT NULL"),
    ("delivered", "s.delivered_at IS NOT NULL"),
    ("opened", OPENED_BY_A_PERSON),
    ("clicked", CLICKED_BY_A_PERSON),
    ("bounced", "s.bounced_at IS NOT NULL"),
    ("complained", "s.complained_at IS NOT NULL"),
    ("unsubscribed", "s.unsubscribed_at IS NOT NULL"),
    ("reactivated", "o.first_at IS NOT NULL"),
    ("completed", "o.done_at IS NOT NULL"),
    ("sunset", "o.status = 'sunset'"),
)


@dataclass
class FunnelRow:
    """One line of the funnel: a step (or the whole campaign), a variant, an audience.

    ``final`` counts enrollments whose goal window has closed, ``open`` those still open.
    """

    step_id: int | None
    step: str
    variant_id: int | None
    variant: str
    audience: str
    final: Counts = field(default_factory=Counts)
    open: Counts = field(default_factory=Counts)

    @property
    def total(self) -> Counts:
        both = Counts()
        both.add(self.final)
        both.add(self.open)
        return both


def send_select(*, campaign: Campaign) -> tuple[str, list[Any]]:
    """SQL over the outcome relation ``o``: ('send', step_id, variant_id, window_open, NULL,
    audience, messages, *SEND_CONDITIONS counts, reactivated_after) of every step message,
    grouped (the NULL lines it up with the arm rows it is read with)."""
    d = outcomes.dialect()
    counts = ", ".join(f"COUNT(*) FILTER (WHERE {condition})" for _, condition in SEND_CONDITIONS)
    after = d.later("o.last_at", "s.created_at")
    select = f"""
        SELECT 'send', s.step_id, s.variant_id, o.window_open, NULL, s.audience, COUNT(*), {counts},
               COUNT(*) FILTER (WHERE o.last_at IS NOT NULL AND {after})
        FROM campaigns_send s JOIN o ON o.id = s.enrollment_id
        WHERE s.campaign_id = %s AND s.kind = %s
        GROUP BY s.step_id, s.variant_id, s.audience, o.window_open
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    return select, [campaign.pk, Send.Kind.STEP]


def _counts(row: tuple[object, ...]) -> Counts:
    values = [int(str(v or 0)) for v in row[4 : 6 + len(SEND_CONDITIONS)]]
    counts = Counts(messages=values[0], reactivated_after=values[-1])
    for (name, _), value in zip(SEND_CONDITIONS, values[1:-1], strict=True):
        setattr(counts, name, value)
    return counts


def step_funnel(
    *, campaign: Campaign, rows: list[tuple[object, ...]]
) -> tuple[list[FunnelRow], list[FunnelRow]]:
    """Per (step, audience) and per (step, variant, audience) rows, in step order."""
    steps = {s.pk: s for s in Step.objects.filter(campaign=campaign).prefetch_related("variants")}
    labels = {v.pk: v.label for s in steps.values() for v in s.variants.all()}
    by_step: dict[tuple[object, object], FunnelRow] = {}
    by_variant: dict[tuple[object, object, object], FunnelRow] = {}
    for row in rows:
        step_id, variant_id, audience, window_open = row[0], row[1], str(row[2]), row[3]
        step = steps.get(int(str(step_id))) if step_id is not None else None
        name = str(step) if step else "(deleted step)"
        counts = _counts(row)
        target = [
            by_step.setdefault(
                (step_id, audience),
                FunnelRow(step.pk if step else None, name, None, "", audience),
            )
        ]
        if variant_id is not None:
            vid = int(str(variant_id))
            target.append(
                by_variant.setdefault(
                    (step_id, variant_id, audience),
                    FunnelRow(step.pk if step else None, name, vid, labels.get(vid, "?"), audience),
                )
            )
        for funnel_row in target:
            (funnel_row.open if window_open else funnel_row.final).add(counts)

    def order(r: FunnelRow) -> tuple[int, str, str]:
        position = steps[r.step_id].position if r.step_id in steps else 10_000
        return (position, r.variant, "0" if r.audience == Audience.LEARNER else r.audience)

    return sorted(by_step.values(), key=order), sorted(by_variant.values(), key=order)
