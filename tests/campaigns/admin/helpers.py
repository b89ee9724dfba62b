"""Shared helpers of the admin tests: clients for named users, form data, action URLs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Step
from learners.models import Learner
from tests.factories import (
    CampaignFactory,
    CourseFactory,
    CourseProgressFactory,
    LearnerFactory,
    SegmentFactory,
    StepFactory,
)


def days_ago(days: int) -> dt.datetime:
    # The admin asks the clock, so the learners' data is placed relative to it.
    return timezone.now() - dt.timedelta(days=days)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def step_post_data(step: Step, **changes: Any) -> dict[str, Any]:
    data = {
        "campaign": step.campaign_id,
        "position": step.position,
        "name": step.name,
        "delay_days": step.delay_days,
        "delay_hours": step.delay_hours,
        "audience": step.audience,
        "subject": step.subject,
        "preheader": step.preheader,
        "body": step.body,
        "cta_label": step.cta_label,
        "cta_target": step.cta_target,
        "cta_url": step.cta_url,
        "incentive": step.incentive_id or "",
        "manager_subject": step.manager_subject,
        "manager_body": step.manager_body,
        "manager_script": step.manager_script,
        "variants-TOTAL_FORMS": 0,
        "variants-INITIAL_FORMS": 0,
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def launch_url(campaign: Campaign, action: str = "launch") -> str:
    return reverse("admin:campaigns_campaign_status", args=[campaign.pk, action])


def preview_setup() -> tuple[Step, Learner]:
    segment = SegmentFactory.create(min_inactive_days=30, max_inactive_days=59)
    step = StepFactory.create(
        campaign=CampaignFactory.create(segment=segment),
        subject="{{ first_name }}, we saved your progress",
        body="Hi {{ first_name }}, {{ next_module }} is next.",
    )
    learner = LearnerFactory.create(
        first_name="Sam<b>", email="sam@example.com", last_active_at=days_ago(40)
    )
    CourseProgressFactory.create(
        learner=learner, course=CourseFactory.create(title="Data Protection")
    )
    return step, learner
