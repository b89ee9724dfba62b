"""The digest email built directly: what it says for a report who came back, one with no
progress and no activity yet, a first week with no change to show, and a hostile name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from campaigns.content.emails import DigestReport, digest_content, render_digest
from campaigns.models import Campaign, DigestSettings, Enrollment, ManagerDigest
from tests.factories import CampaignFactory, CourseFactory, LearnerFactory, ManagerFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)


@override_settings(PUBLIC_BASE_URL="https://learn.example.com", UNSUBSCRIBE_MAILTO="")
def test_what_the_digest_says_for_each_kind_of_report() -> None:
    campaign = CampaignFactory.create(name="Win back", status=Campaign.Status.ACTIVE)
    manager = ManagerFactory.create(name="", email="lead@example.com", time_zone="America/New_York")
    back = LearnerFactory.create(
        first_name="Ana",
        last_name="Back",
        manager=manager,
        last_active_at=MONDAY - dt.timedelta(days=2),
    )
    new = LearnerFactory.create(
        first_name="Bo", last_name='"><script>x</script>', manager=manager, last_active_at=None
    )
    course = CourseFactory.create(title="Safe lifting")
    returned = Enrollment.objects.create(
        campaign=campaign, learner=back, course=course, enrolled_at=MONDAY - dt.timedelta(days=9),
        status=Enrollment.Status.REACTIVATED,
        reactivated_at=dt.datetime(2026, 12, 5, 3, tzinfo=dt.UTC),
    )  # fmt: skip
    active = Enrollment.objects.create(
        campaign=campaign, learner=new, enrolled_at=MONDAY - dt.timedelta(days=1)
    )
    digest = ManagerDigest.objects.create(
        manager=manager, week_of=dt.date(2026, 12, 7), to_email=manager.email, due_at=MONDAY,
        created_at=MONDAY, reports=2, team_completion_rate=None,
    )  # fmt: skip
    config = DigestSettings(pk=1, from_name="People Team", postal_address="1 Way\n10115 Berlin")
    content = digest_content(
        digest=digest,
        reports=[
            DigestReport(enrollment=returned, progress=None, sent=1, last_sent_at=MONDAY),
            DigestReport(enrollment=active, progress=None, sent=0, last_sent_at=None),
        ],
        config=config,
        now=MONDAY,
    )
    email = render_digest(digest=digest, content=content, config=config)
    assert email.subject == "Your team this week: 1 in a re-engagement campaign, 1 back"
    assert email.to == "lead@example.com"
    assert email.from_email == "People Team <learning@example.com>"
    text = email.text
    assert text.startswith("Hello,\n")
    assert "Team completion rate: not known yet\n" in text  # no rates, nothing to compare
    # Came back on Saturday 03:00 UTC: Friday evening in New York.
    assert "Ana Back (came back on Friday 4 December)" in text
    assert "Days inactive: 2" in text
    assert "Sent so far: 1 email, the last on Monday 7 December" in text
    assert "mailto:" in text and "great%20to%20see%20you%20back%20in%20Safe%20lifting" in text
    assert 'Bo "><script>x</script> (in Win back)' in text
    assert "Course: not known" in text
    assert "Days inactive: no activity yet" in text
    assert "Paused at: not known" in text
    assert "Sent so far: nothing yet" in text
    assert "1 Way\n10115 Berlin" in text
    assert email.headers["List-Unsubscribe"].startswith("<https://learn.example.com/d/")
    assert "<script>" not in email.html
    assert "&quot;&gt;&lt;script&gt;x&lt;/script&gt;" in email.html
    assert "1 Way, 10115 Berlin" in email.html
