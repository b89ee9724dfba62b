"""The weekly team digest end to end on the drip: created at the manager's digest hour,
delivered once by the claim/record delivery, its table and both actions, and "I've talked to
them" pausing that report's next step through the following passes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.content import links
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.digests import deliver_digests, deliver_queued_digests
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.run import run_pass
from campaigns.feedback.subscriptions import check_in_report
from campaigns.models import (
    Campaign,
    DigestCheckIn,
    DigestSettings,
    Enrollment,
    ManagerDigest,
    Send,
)
from learners import contactability
from learners.models import Learner, Manager
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory

MONDAY = day(6)  # Monday 7 December 2026, 09:00 UTC


def run(now: dt.datetime) -> None:
    """A pass at ``now`` and delivery of what it queued, like ``run_pass --deliver``."""
    run_pass(now=now)
    deliver_queued(now=now)
    deliver_queued_digests(now=now)


@dataclass(frozen=True)
class Team:
    alex: Manager
    sam: Learner
    kim: Learner


@pytest.fixture
def team(drip: Campaign) -> Team:
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    sam = LearnerFactory.create(
        first_name="Sam", last_name="Rivera", email="sam@example.com", manager=alex,
        completion_rate=40,
    )  # fmt: skip
    kim = LearnerFactory.create(
        first_name="Kim", last_name="<b>O'Neil</b>", email="kim@example.com", manager=alex,
        completion_rate=60,
    )  # fmt: skip
    for learner in (sam, kim):
        CourseProgressFactory.create(learner=learner, course__title="Data Protection")
    run(day(0))
    run(day(3))
    return Team(alex, sam, kim)


def digests_to(email: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [email] and "Your team this week" in m.subject]


def test_the_digest_shows_the_team_table_and_both_actions(team: Team) -> None:
    run(MONDAY - dt.timedelta(minutes=1))
    assert digests_to("alex@example.com") == []
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    assert message.subject == "Your team this week: 2 in a re-engagement campaign"
    text = message.body
    assert "Hi Alex," in text
    assert "Team completion rate: 50%" in text
    assert "Sam Rivera (in Win back" in text
    assert "Course: Data Protection" in text
    assert "Paused at: Module 2: Handling personal data" in text
    assert "Days inactive: 51" in text
    assert "Done: 40%" in text
    assert "Sent so far: 2 emails, the last on Friday 4 December" in text
    assert "Send a note: mailto:sam@example.com?subject=Data%20Protection&body=Hi%20Sam%2C" in text
    assert re.search(r"I've talked to them \(pauses their reminders for 7 days\): "
                     r"https://learn\.example\.com/t/[^/]+/", text)  # fmt: skip
    assert "Kim <b>O'Neil</b>" in text  # plain text shows the name as typed
    html = message.alternatives[0][0]
    assert "Kim &lt;b&gt;O&#x27;Neil&lt;/b&gt;" in html and "<b>O'Neil" not in html
    assert "<strong>Team completion rate: 50%</strong>" in html
    assert html.count(">I've talked to them</a>") == 2
    assert html.count(">Send a note</a>") == 2
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(r"<https://learn\.example\.com/d/[^/]+/>, <mailto:[^>]+>", unsubscribe)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    digest = ManagerDigest.objects.get()
    assert digest.status == ManagerDigest.Status.SENT
    assert message.extra_headers["Message-ID"] == f"<digest-{digest.pk}@example.com>"
    # Nothing more this week, and a second delivery of the same id sends nothing.
    run(MONDAY + dt.timedelta(hours=2))
    assert deliver_digests(digest_ids=[digest.pk], now=MONDAY).claimed == 0
    assert len(digests_to("alex@example.com")) == 1


def test_next_week_shows_the_change_in_completion(team: Team) -> None:
    run(MONDAY)
    Learner.objects.filter(pk=team.sam.pk).update(completion_rate=60)
    run(MONDAY + dt.timedelta(days=7))
    latest = digests_to("alex@example.com")[-1]
    assert "Team completion rate: 60% (up 10 points since last week)" in latest.body


def check_in_path(message: Any, name: str) -> str:
    block = message.body.split(name, 1)[1]
    url = re.search(r"I've talked to them [^:]*: (\S+)", block)
    assert url is not None
    return url.group(1).removeprefix("https://learn.example.com")


def test_ive_talked_to_them_asks_on_get_and_pauses_on_post(team: Team, client: Client) -> None:
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    path = check_in_path(message, "Sam Rivera")
    due_before = Enrollment.objects.get(learner=team.sam).next_due_at

    page = client.get(path)
    assert page.status_code == 200
    assert "Have you talked to Sam Rivera?" in page.content.decode()
    assert "pause Sam Rivera's reminders for 7 days" in page.content.decode()
    # A GET (a link scanner) changes nothing.
    assert not DigestCheckIn.objects.exists()
    assert Enrollment.objects.get(learner=team.sam).next_due_at == due_before

    before = timezone.now()
    done = client.post(path)
    assert done.status_code == 200
    assert "Sam Rivera's reminders are paused until" in done.content.decode()
    assert client.post(path).status_code == 200  # repeating it changes nothing
    check_in = DigestCheckIn.objects.get()
    assert check_in.learner == team.sam
    assert (
        before + dt.timedelta(days=7)
        <= check_in.paused_until
        <= timezone.now() + dt.timedelta(days=7)
    )


def test_ive_talked_to_them_pauses_that_learners_next_step(team: Team) -> None:
    run(MONDAY)
    digest = ManagerDigest.objects.get()
    check_in_report(digest=digest, learner=team.sam, now=MONDAY)
    assert Enrollment.objects.get(learner=team.sam).next_due_at == MONDAY + dt.timedelta(days=7)

    mail.outbox.clear()
    run(day(7))  # Tuesday: the day-7 step, for Kim (and Kim's manager) only
    assert sorted((m.to[0], m.subject[:6]) for m in mail.outbox) == [
        ("alex@example.com", "Day 7:"),
        ("kim@example.com", "Day 7:"),
    ]
    mail.outbox.clear()
    run(day(10))
    assert [m.to[0] for m in mail.outbox] == ["kim@example.com"]
    mail.outbox.clear()
    run(MONDAY + dt.timedelta(days=7))  # the pause is over: Sam's day-7 step goes now
    sent = sorted(
        (m.to[0], m.subject[:6]) for m in mail.outbox if "team this week" not in m.subject
    )
    assert sent == [("alex@example.com", "Day 7:"), ("sam@example.com", "Day 7:")]


def test_a_pause_also_holds_a_step_already_waiting(team: Team) -> None:
    run_pass(now=MONDAY)
    digest = ManagerDigest.objects.get()
    # Sam's day-7 send is created at 21:00 and waits for the quiet hours to end.
    run_pass(now=day(7, hour=21))
    waiting = Send.objects.get(learner=team.sam, step__position=3, audience="learner")
    assert waiting.status == Send.Status.SCHEDULED
    check_in_report(digest=digest, learner=team.sam, now=day(7, hour=21))
    waiting.refresh_from_db()
    assert waiting.due_at == day(7, hour=21) + dt.timedelta(days=7)
    assert waiting.postponed_reason == "manager talked to them"


def test_staff_choose_how_long_the_pause_lasts(team: Team, client: Client) -> None:
    DigestSettings.objects.create(pk=1, pause_days=3)
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    assert "pauses their reminders for 3 days" in message.body
    assert "for 3 days" in client.get(check_in_path(message, "Sam Rivera")).content.decode()
    check_in_report(digest=ManagerDigest.objects.get(), learner=team.sam, now=MONDAY)
    assert DigestCheckIn.objects.get().paused_until == MONDAY + dt.timedelta(days=3)


def test_a_check_in_about_a_report_who_came_back_pauses_nothing(team: Team, client: Client) -> None:
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    path = check_in_path(message, "Sam Rivera")
    Enrollment.objects.filter(learner=team.sam).update(
        status=Enrollment.Status.REACTIVATED, reactivated_at=MONDAY
    )
    assert "Sam Rivera is back and gets no reminders" in client.get(path).content.decode()
    assert "Noted: you talked to Sam Rivera." in client.post(path).content.decode()
    assert DigestCheckIn.objects.get().enrollment is None


def test_a_check_in_link_of_another_team_or_forged_is_refused(team: Team, client: Client) -> None:
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    path = check_in_path(message, "Sam Rivera")
    Learner.objects.filter(pk=team.sam.pk).update(manager=ManagerFactory.create())
    assert client.post(path).status_code == 404
    assert client.post("/t/forged/").status_code == 404
    assert not DigestCheckIn.objects.exists()


def test_the_digest_opt_out_is_one_click_and_stops_only_digests(team: Team) -> None:
    run(MONDAY)
    [message] = digests_to("alex@example.com")
    url = re.match(r"<([^>]+)>", message.extra_headers["List-Unsubscribe"])
    assert url is not None
    path = url.group(1).removeprefix("https://learn.example.com")
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert "Stop the weekly team digest?" in page.content.decode()
    assert Manager.objects.get(pk=team.alex.pk).digests_opted_out_at is None
    # RFC 8058: the mail client's POST, no cookie, no CSRF token; answered 200.
    answer = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert "Weekly team digest stopped" in answer.content.decode()
    assert Manager.objects.get(pk=team.alex.pk).digests_opted_out_at is not None
    mail.outbox.clear()
    run(day(7))  # the manager nudge of the day-7 step still goes
    assert ("alex@example.com", "Day 7:") in [(m.to[0], m.subject[:6]) for m in mail.outbox]
    run(MONDAY + dt.timedelta(days=7))
    assert digests_to("alex@example.com") == []
    assert ManagerDigest.objects.count() == 1


def test_the_nudges_opt_out_stops_digests_too(team: Team, client: Client) -> None:
    run_pass(now=MONDAY)  # created, not yet delivered
    digest = ManagerDigest.objects.get()

    optout = links.manager_optout_url(manager_id=team.alex.pk).removeprefix(
        "https://learn.example.com"
    )
    assert client.post(optout).status_code == 200
    digest.refresh_from_db()
    assert (digest.status, digest.skip_reason) == ("skipped", "manager opted out")
    deliver_queued_digests(now=MONDAY)
    run(MONDAY + dt.timedelta(days=7))
    assert digests_to("alex@example.com") == []


def test_delivery_checks_again_when_it_claims(team: Team) -> None:
    run_pass(now=MONDAY)
    contactability.opt_out_manager_digests(manager_ids=[team.alex.pk], now=MONDAY)
    result = deliver_queued_digests(now=MONDAY)
    assert (result.claimed, result.skipped, result.sent) == (1, 1, 0)
    assert ManagerDigest.objects.get().skip_reason == "manager opted out"


def test_a_manager_who_paused_their_messages_gets_no_digest_until_the_pause_ends(
    team: Team,
) -> None:
    contactability.pause_managers(
        manager_ids=[team.alex.pk],
        until=MONDAY + dt.timedelta(days=3),
        now=MONDAY - dt.timedelta(days=1),
        source="preference_centre",
    )
    run(MONDAY)
    assert digests_to("alex@example.com") == []
    assert ManagerDigest.objects.get().skip_reason == "manager paused messages"
    run(MONDAY + dt.timedelta(days=7))
    assert len(digests_to("alex@example.com")) == 1


def test_a_digest_with_nothing_left_to_report_is_skipped(team: Team) -> None:
    run_pass(now=MONDAY)
    Enrollment.objects.update(status=Enrollment.Status.EXITED)
    deliver_queued_digests(now=MONDAY)
    assert ManagerDigest.objects.get().skip_reason == "nothing to report"
    assert digests_to("alex@example.com") == []


def test_a_digest_left_sending_by_a_dead_worker_is_reconciled_not_resent(team: Team) -> None:
    run_pass(now=MONDAY)
    ManagerDigest.objects.update(status="sending", claimed_at=MONDAY)
    assert reconcile_stale(now=MONDAY + dt.timedelta(minutes=20)) == 1
    assert ManagerDigest.objects.get().status == "unconfirmed"
    assert deliver_queued_digests(now=MONDAY + dt.timedelta(minutes=20)).claimed == 0


def test_the_frequency_cap_counts_a_digest_to_a_manager_who_is_a_learner(drip: Campaign) -> None:
    # Lee leads a team and is in the drip too; with a cap of 2, the digest is one of them.
    Campaign.objects.filter(pk=drip.pk).update(weekly_cap=2)
    lee = CourseProgressFactory.create(
        learner=LearnerFactory.create(email="lee@example.com")
    ).learner
    boss = ManagerFactory.create(email="lee@example.com", learner=lee, time_zone="UTC")
    CourseProgressFactory.create(learner=LearnerFactory.create(manager=boss))
    run(day(0))
    run(day(3))  # Lee's day-3 email
    run(MONDAY)  # the digest to Lee
    assert len(digests_to("lee@example.com")) == 1
    mail.outbox.clear()
    run(day(7))  # Tuesday: Lee's day-7 step waits (day-3 email + digest = 2 in 7 days)
    assert "lee@example.com" not in [m.to[0] for m in mail.outbox if "your course" in m.subject]
    held = Send.objects.get(learner=lee, step__position=3, audience="learner")
    assert (held.status, held.postponed_reason) == ("scheduled", "weekly cap")
