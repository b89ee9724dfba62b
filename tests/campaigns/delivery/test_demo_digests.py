"""The demo population's weekly digests: a pass at each manager's Monday 09:00 (their own time
zone, eight zones in the demo) creates one digest per manager with something to report; the
email shows the team table and both actions; "I've talked to them" holds that report's next
step through the following passes."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail
from django.test import override_settings

from campaigns.building.blueprint import ensure_demo_campaign
from campaigns.building.services import launch_campaign
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.digests import deliver_queued_digests
from campaigns.engine.run import run_pass
from campaigns.feedback.subscriptions import check_in_report
from campaigns.models import Enrollment, ManagerDigest, Send
from learners.demo import seed_demo_learners
from learners.models import Learner, Manager
from tests.factories import NOW

pytestmark = pytest.mark.django_db


def run(now: dt.datetime) -> None:
    run_pass(now=now)
    deliver_queued(now=now)
    deliver_queued_digests(now=now)


def local(now: dt.datetime, manager: Manager) -> dt.datetime:
    return now.astimezone(zoneinfo.ZoneInfo(manager.time_zone or "UTC"))


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    PUBLIC_BASE_URL="https://learn.example.com",
)
def test_the_demos_digests_at_each_managers_hour_and_a_check_in_followed_through() -> None:
    seed_demo_learners(count=300, now=NOW, seed=1)
    launch_campaign(campaign=ensure_demo_campaign(now=NOW), now=NOW)
    run(NOW)  # Tuesday 1 December: enrolment and the first emails
    run(NOW + dt.timedelta(days=3))
    reporting = Enrollment.objects.filter(status="active", is_holdout=False)

    def with_something_to_report() -> dict[int, Manager]:
        return Manager.objects.filter(
            reports__in=reporting.values("learner"), nudges_opted_out_at__isnull=True
        ).in_bulk()

    # Every hour from Sunday 20:00 UTC (Monday 07:00 in Sydney) to Monday 18:00 UTC (10:00
    # in Los Angeles): each pass decides for the managers whose Monday 09:00 it is, in their
    # own zone: a digest for each with something to report, a skipped row for the others.
    opted_in = Manager.objects.filter(nudges_opted_out_at__isnull=True).in_bulk()
    for hour in range(23):
        now = dt.datetime(2026, 12, 6, 20, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
        before = set(ManagerDigest.objects.values_list("pk", flat=True))
        run(now)
        new = ManagerDigest.objects.exclude(pk__in=before)
        at_nine = {
            pk
            for pk, m in opted_in.items()
            if local(now, m).weekday() == 0 and local(now, m).hour == 9
        }
        assert set(new.values_list("manager_id", flat=True)) == at_nine, now
        assert set(new.filter(status="sent").values_list("manager_id", flat=True)) == (
            at_nine & set(with_something_to_report())
        ), now
        assert set(new.exclude(status="sent").values_list("skip_reason", flat=True)) <= {
            "nothing to report"
        }
    sent = ManagerDigest.objects.filter(status="sent")
    assert ManagerDigest.objects.count() == len(opted_in)
    assert len({d.manager.time_zone for d in sent.select_related("manager")}) >= 4
    assert ManagerDigest.objects.filter(status="skipped").exists()  # nothing to report

    digests = [m for m in mail.outbox if m.subject.startswith("Your team this week")]
    assert len(digests) == sent.count()
    biggest = sent.order_by("-reports", "pk").first()
    assert biggest is not None and biggest.reports >= 2
    [message] = [m for m in digests if m.to == [biggest.manager.email]]
    html = str(message.alternatives[0][0])  # type: ignore[attr-defined]
    reports = Learner.objects.filter(manager=biggest.manager, enrollments__in=reporting).order_by(
        "last_name", "first_name", "pk"
    )
    for learner in reports:
        assert f"{learner.full_name} (in Win back" in message.body
        assert f"Send a note: mailto:{learner.email}?subject=" in message.body
    assert html.count(">I've talked to them</a>") == len(reports)
    assert html.count(">Send a note</a>") == len(reports)
    assert "Team completion rate: " in message.body

    # The manager talks to their first report on Monday; the day-7 step waits for a week.
    chosen = reports[0]
    monday = local(message_time := biggest.created_at, biggest.manager)
    assert monday.weekday() == 0 and monday.hour == 9
    assert re.search(r"https://learn\.example\.com/t/[^/\s]+/", str(message.body))
    check_in = check_in_report(digest=biggest, learner=chosen, now=message_time)
    assert check_in.paused_until == message_time + dt.timedelta(days=7)
    others = Enrollment.objects.filter(
        learner__manager=biggest.manager, status="active", is_holdout=False
    ).exclude(learner=chosen)

    run(NOW + dt.timedelta(days=7))  # Tuesday 8 December: the day-7 step
    assert not Send.objects.filter(learner=chosen, step__position=3).exists()
    assert Send.objects.filter(learner__in=others.values("learner"), step__position=3).exists()
    run(NOW + dt.timedelta(days=10))
    assert not Send.objects.filter(learner=chosen, step__position=3).exists()
    run(check_in.paused_until)
    held = Send.objects.get(learner=chosen, step__position=3, audience="learner")
    assert held.created_at == check_in.paused_until
