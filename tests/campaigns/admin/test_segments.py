"""The segment admin: the live match count and the rule fields."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Segment
from learners.models import Learner
from tests.campaigns.admin.helpers import client_for, days_ago, text
from tests.factories import (
    LearnerFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db


def test_the_segment_count_agrees_with_a_direct_query(alice: User) -> None:
    segment = SegmentFactory.create(min_inactive_days=30, max_inactive_days=59)
    LearnerFactory.create_batch(3, last_active_at=days_ago(31))
    LearnerFactory.create(last_active_at=days_ago(59), email="edge@example.com")
    LearnerFactory.create(last_active_at=days_ago(10), email="recent@example.com")
    LearnerFactory.create(last_active_at=days_ago(75), email="older@example.com")
    LearnerFactory.create(
        last_active_at=days_ago(40), unsubscribed_at=days_ago(1), email="u@example.com"
    )
    LearnerFactory.create(
        last_active_at=days_ago(40), suppressed_at=days_ago(1), email="s@example.com"
    )
    LearnerFactory.create(last_active_at=days_ago(40), sunset_at=days_ago(1), email="z@example.com")
    now = timezone.now()
    direct = Learner.objects.filter(
        last_active_at__lte=now - dt.timedelta(days=30),
        last_active_at__gt=now - dt.timedelta(days=60),
        unsubscribed_at__isnull=True,
        suppressed_at__isnull=True,
        sunset_at__isnull=True,
    ).count()

    page = text(client_for(alice).get(reverse("admin:campaigns_segment_change", args=[segment.pk])))

    assert direct == 4
    assert f"{direct} learners" in page
    assert "edge@example.com" in page
    for left_out in ("recent@", "older@", "u@example.com", "s@example.com", "z@example.com"):
        assert left_out not in page


def test_the_segment_form_stores_course_types_comma_separated(alice: User) -> None:
    response = client_for(alice).post(
        reverse("admin:campaigns_segment_add"),
        {
            "name": "Compliance 14+",
            "min_inactive_days": 14,
            "course_types": ["compliance", "onboarding"],
        },
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Compliance 14+").course_types == "compliance,onboarding"
