"""A blueprint-like drip built with factories: six steps on days 0, 3, 7 (learner and
manager), 10, 14 and 21, a sunset week, and a welcome-back message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from campaigns.models import Audience, Campaign, Step
from tests.factories import NOW, CampaignFactory, SegmentFactory, StepFactory

DRIP_DAYS: tuple[tuple[int, str], ...] = (
    (0, Audience.LEARNER),
    (3, Audience.LEARNER),
    (7, Audience.BOTH),
    (10, Audience.LEARNER),
    (14, Audience.LEARNER),
    (21, Audience.LEARNER),
)


def day(n: int, *, hour: int = 9) -> dt.datetime:
    """``n`` days after the first pass (Tuesday 1 December 2026, 09:00 UTC)."""
    return NOW.replace(hour=hour) + dt.timedelta(days=n)


def make_drip(**campaign_fields: object) -> Campaign:
    fields: dict[str, object] = {
        "status": Campaign.Status.ACTIVE,
        "holdout_percent": 0,
        "welcome_back_enabled": True,
        "sunset_after_days": 7,
        "segment": SegmentFactory.create(min_inactive_days=30, max_inactive_days=59),
    }
    fields.update(campaign_fields)
    campaign = CampaignFactory.create(**fields)
    for position, (delay, audience) in enumerate(DRIP_DAYS, start=1):
        StepFactory.create(
            campaign=campaign,
            position=position,
            name=f"Day {delay}",
            delay_days=delay,
            audience=audience,
            subject=f"Day {delay}: {{{{ first_name }}}}, your course is waiting",
            manager_subject=f"Day {delay}: {{{{ first_name }}}} paused {{{{ course_title }}}}"
            if audience == Audience.BOTH
            else "",
        )
    return campaign


SMS_TEXT = "Hi {{ first_name }}, your course is waiting:"


def one_step(channel: str, audience: str = Audience.LEARNER, **campaign: object) -> Step:
    fields: dict[str, object] = {
        "status": Campaign.Status.ACTIVE,
        "holdout_percent": 0,
        "segment": SegmentFactory.create(min_inactive_days=30, max_inactive_days=59),
    }
    fields.update(campaign)
    return StepFactory.create(
        campaign=CampaignFactory.create(**fields),
        position=1,
        channel=channel,
        audience=audience,
        sms_body=SMS_TEXT,
        manager_subject="{{ first_name }} paused {{ course_title }}",
        manager_body="{{ first_name }} has not been back for a while.",
    )


@pytest.fixture
def drip(db: None) -> Campaign:
    return make_drip()


@pytest.fixture
def steps(drip: Campaign) -> list[Step]:
    return list(drip.steps.order_by("position"))


@pytest.fixture(autouse=True)
def _mail_in_memory() -> object:
    # Tests read what was sent from django.core.mail.outbox.
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PUBLIC_BASE_URL="https://learn.example.com",
    ):
        yield
