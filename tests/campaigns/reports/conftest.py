"""Helpers that lay out enrollments, events and sends exactly where a test wants them."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from campaigns.engine.outcomes import record_outcomes
from campaigns.models import Campaign, Enrollment, Send, Step, Variant
from campaigns.reports import outcomes
from learners.models import ActivityEvent, Learner
from tests.factories import NOW, CampaignFactory, LearnerFactory

_events = itertools.count()


def enroll(
    campaign: Campaign,
    *,
    holdout: bool = False,
    at: dt.datetime = NOW,
    learner: Learner | None = None,
    status: str = Enrollment.Status.ACTIVE,
) -> Enrollment:
    return Enrollment.objects.create(
        campaign=campaign,
        learner=learner or LearnerFactory.create(manager=None),
        enrolled_at=at,
        is_holdout=holdout,
        status=status,
    )


def activity(
    learner_id: int, at: dt.datetime, kind: str = ActivityEvent.Kind.LOGIN
) -> ActivityEvent:
    return ActivityEvent.objects.create(
        external_id=f"evt-{next(_events)}", learner_id=learner_id, kind=kind, occurred_at=at
    )


def send(
    enrollment: Enrollment,
    step: Step,
    *,
    variant: Variant | None = None,
    at: dt.datetime = NOW,
    **stamps: Any,
) -> Send:
    return Send.objects.create(
        enrollment=enrollment,
        campaign=enrollment.campaign,
        step=step,
        variant=variant,
        audience="learner",
        learner=enrollment.learner,
        status=Send.Status.SENT if "sent_at" in stamps else Send.Status.SCHEDULED,
        due_at=at,
        created_at=at,
        **stamps,
    )


def campaign(**fields: object) -> Campaign:
    values: dict[str, object] = {"status": Campaign.Status.ACTIVE, "goal_window_days": 30}
    values.update(fields)
    return CampaignFactory.create(**values)


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture(autouse=True, params=["computed", "recorded"])
def outcome_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every report test runs twice: with outcomes computed from the events at each look, and
    with them recorded first as the pass records them (campaigns.engine.outcomes). The figures
    must be the same."""
    if request.param == "recorded":
        compute = outcomes.read

        def recorded_first(*, now: dt.datetime, **kwargs: Any) -> Any:
            record_outcomes(now=now)
            return compute(now=now, **kwargs)

        monkeypatch.setattr(outcomes, "read", recorded_first)
    return str(request.param)
