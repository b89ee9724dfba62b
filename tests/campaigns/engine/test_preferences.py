"""What the preference centre's choices do to the next passes, pass by pass with explicit
moments: a pause, a personal weekly cap, email turned off, a manager's pause."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.engine.run import run_pass
from campaigns.feedback import subscriptions
from campaigns.models import Campaign, Enrollment, Send
from campaigns.models.outbox import EMAIL_OFF_REASON, MANAGER_PAUSED_REASON, PAUSED_REASON
from learners import contactability
from learners.models import Learner, Manager, PreferenceChange
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run

pytestmark = pytest.mark.django_db

CENTRE = PreferenceChange.Source.PREFERENCE_CENTRE


def _subjects_to(address: str) -> list[str]:
    return [m.subject.split(":")[0] for m in mail.outbox if m.to == [address]]


def _preferences_path(message: mail.EmailMessage) -> str:
    match = re.search(
        r"Pause or get fewer reminders: https://learn\.example\.com(/p/\S+/)", str(message.body)
    )
    assert match, message.body
    return match.group(1)


def test_a_two_week_pause_from_one_email_stops_mail_for_two_weeks_then_it_resumes(
    drip: Campaign,
) -> None:
    sam, other = learners(2)
    run(0)
    (first,) = [m for m in mail.outbox if m.to == [sam.email]]
    # Sam opens the preference centre from the day-0 email an hour later and pauses.
    client = Client()
    with mock.patch("campaigns.feedback.pages.timezone.now", return_value=day(0, hour=10)):
        path = _preferences_path(first)
        assert client.get(path).status_code == 200
        response = client.post(path, {"pause": "2", "weekly_cap": "", "channels": ["email"]})
    assert response.status_code == 200
    sam.refresh_from_db()
    assert sam.reminders_paused_until == day(14, hour=10)

    queued = skipped = 0
    for n in range(1, 15):
        result = run(n)
        queued, skipped = queued + result.queued, skipped + result.skipped
        # Day 14's step is due at 09:00, before the pause ends at 10:00.
        assert _subjects_to(sam.email) == ["Day 0"], f"day {n}"
    # The pass itself decided: Sam's four steps were never queued for delivery (the other
    # learner's four and the two managers' day-7 nudges were).
    assert (queued, skipped) == (6, 4)
    assert _subjects_to(other.email) == ["Day 0", "Day 3", "Day 7", "Day 10", "Day 14"]
    held_back = Send.objects.filter(learner=sam, status=Send.Status.SKIPPED)
    names = sorted(held_back.values_list("step__name", flat=True))
    assert names == ["Day 10", "Day 14", "Day 3", "Day 7"]
    assert {s.skip_reason for s in held_back} == {PAUSED_REASON}
    # Still enrolled: the drip goes on after the pause.
    assert Enrollment.objects.get(learner=sam).status == Enrollment.Status.ACTIVE
    for n in range(15, 22):
        run(n)
    assert _subjects_to(sam.email) == ["Day 0", "Day 21"]


def test_a_pause_skips_sends_already_waiting_and_resuming_lets_the_next_step_out(
    drip: Campaign,
) -> None:
    (sam,) = learners(1)
    run(0)
    run_pass(now=day(3, hour=21))  # quiet hours: the day-3 send waits for Monday morning
    waiting = Send.objects.get(learner=sam, step__position=2)
    assert waiting.status == Send.Status.SCHEDULED
    choices = subscriptions.LearnerChoices(pause_weeks=4, weekly_cap=None, channels={})
    subscriptions.save_learner_choices(learner_id=sam.pk, choices=choices, now=day(3, hour=21))
    waiting.refresh_from_db()
    assert (waiting.status, waiting.skip_reason) == (Send.Status.SKIPPED, PAUSED_REASON)
    resume = subscriptions.LearnerChoices(pause_weeks=0, weekly_cap=None, channels={})
    subscriptions.save_learner_choices(learner_id=sam.pk, choices=resume, now=day(6))
    run(7)
    assert _subjects_to(sam.email) == ["Day 0", "Day 7"]
    changes = list(
        PreferenceChange.objects.filter(learner=sam).order_by("at").values_list("change", "source")
    )
    assert changes == [("paused", CENTRE), ("resumed", CENTRE)]


def test_a_personal_weekly_cap_postpones_what_the_campaign_cap_would_let_through(
    db: None,
) -> None:
    # Days 0, 1 and 2: the campaign's cap of 3 lets all three through in one week.
    campaign = make_drip(weekly_cap=3, sunset_after_days=30)
    campaign.steps.all().delete()
    for position, delay in enumerate((0, 1, 2), start=1):
        campaign.steps.create(
            position=position,
            name=f"Day {delay}",
            delay_days=delay,
            subject=f"Day {delay}: hello",
            body="Hi",
            cta_label="Go",
        )
    capped, free = learners(2)
    contactability.set_learners_weekly_cap(
        learner_ids=[capped.pk], cap=1, now=day(0, hour=8), source=CENTRE
    )
    for n in range(3):
        run(n)
    assert _subjects_to(free.email) == ["Day 0", "Day 1", "Day 2"]
    assert _subjects_to(capped.email) == ["Day 0"]
    held = Send.objects.get(learner=capped, step__position=2)
    assert (held.status, held.postponed_reason) == (Send.Status.SCHEDULED, "weekly cap")
    # It goes once the day-0 email is a week old, never dropped.
    assert held.due_at == day(7)
    run(7)
    # Day 1 and Day 2 were both waiting: only one may go in the week.
    assert _subjects_to(capped.email) == ["Day 0", "Day 1"]
    run(7, hour=10)
    assert _subjects_to(capped.email) == ["Day 0", "Day 1"]
    assert Send.objects.get(learner=capped, step__position=3).due_at == day(14)
    run(14)
    assert _subjects_to(capped.email) == ["Day 0", "Day 1", "Day 2"]


def test_email_turned_off_skips_learner_email_until_turned_on_again(drip: Campaign) -> None:
    sam, other = learners(2)
    off = subscriptions.LearnerChoices(pause_weeks=None, weekly_cap=None, channels={"email": False})
    subscriptions.save_learner_choices(learner_id=sam.pk, choices=off, now=day(0, hour=8))
    run(0)
    run(3)
    assert _subjects_to(sam.email) == []
    assert _subjects_to(other.email) == ["Day 0", "Day 3"]
    assert set(Send.objects.filter(learner=sam).values_list("skip_reason", flat=True)) == {
        EMAIL_OFF_REASON
    }
    on = subscriptions.LearnerChoices(pause_weeks=None, weekly_cap=None, channels={"email": True})
    subscriptions.save_learner_choices(learner_id=sam.pk, choices=on, now=day(5))
    run(7)
    assert _subjects_to(sam.email) == ["Day 7"]


def test_a_manager_pause_skips_nudges_and_hand_offs_until_it_ends(drip: Campaign) -> None:
    sam, other = learners(2)
    assert sam.manager is not None and other.manager is not None
    run(0)
    subscriptions.save_manager_pause(manager_id=sam.manager.pk, pause_weeks=2, now=day(1))
    for n in range(1, 7):
        run(n)
    # Day 7: both learners' emails and the other manager's go; Sam's manager's is skipped.
    result = run(7)
    assert (result.queued, result.skipped) == (3, 1)
    # Day 7 is the step that reaches the manager too.
    assert _subjects_to(sam.manager.email) == []
    assert _subjects_to(other.manager.email) == ["Day 7"]
    assert _subjects_to(sam.email) == ["Day 0", "Day 3", "Day 7"]
    nudge = Send.objects.get(manager=sam.manager, audience="manager")
    assert (nudge.status, nudge.skip_reason) == (Send.Status.SKIPPED, MANAGER_PAUSED_REASON)
    # A pause already over changes nothing; the hand-off after the pause goes out.
    for n in range(8, 29):
        run(n)
    handoffs = [m for m in mail.outbox if "hasn't returned" in m.subject]
    assert sorted(m.to[0] for m in handoffs) == sorted([sam.manager.email, other.manager.email])
    change = PreferenceChange.objects.get(manager=sam.manager)
    assert (change.change, change.detail) == ("manager_paused", "until 2026-12-16 09:00 UTC")


def test_choices_are_recorded_once_and_a_repeat_changes_nothing(db: None) -> None:
    (sam,) = learners(1)
    for _ in range(2):
        contactability.pause_learners(
            learner_ids=[sam.pk], until=day(14), now=day(0), source=CENTRE
        )
        contactability.set_learners_weekly_cap(
            learner_ids=[sam.pk], cap=2, now=day(0), source=CENTRE
        )
        contactability.set_learners_channel(
            learner_ids=[sam.pk], channel="email", enabled=False, now=day(0), source=CENTRE
        )
    rows = list(PreferenceChange.objects.filter(learner=sam).values_list("change", "detail"))
    assert sorted(rows) == [
        ("channel", "email off"),
        ("paused", "until 2026-12-15 09:00 UTC"),
        ("weekly_cap", "at most 2 a week"),
    ]
    with pytest.raises(ValueError, match="must end after it starts"):
        contactability.pause_learners(learner_ids=[sam.pk], until=day(0), now=day(0), source=CENTRE)
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        contactability.set_learners_channel(
            learner_ids=[sam.pk], channel="fax", enabled=True, now=day(0), source=CENTRE
        )


def _queries_with_preferences(population: int) -> list[int]:
    make_drip(holdout_percent=10)
    people = learners(population)
    ids = [p.pk for p in people]
    third = len(ids) // 3
    contactability.pause_learners(learner_ids=ids[:third], until=day(10), now=day(0), source=CENTRE)
    contactability.set_learners_weekly_cap(
        learner_ids=ids[third : 2 * third], cap=1, now=day(0), source=CENTRE
    )
    contactability.set_learners_channel(
        learner_ids=ids[2 * third :][:5], channel="email", enabled=False, now=day(0), source=CENTRE
    )
    contactability.pause_managers(
        manager_ids=Manager.objects.values("pk")[:third], until=day(10), now=day(0), source=CENTRE
    )
    counts = []
    for n in (0, 3, 7, 10, 28):
        with CaptureQueriesContext(connection) as queries:
            run_pass(now=day(n))
        counts.append(len(queries))
        Send.objects.filter(status="queued").update(status="sent", sent_at=day(n))
    return counts


def test_the_pass_query_count_does_not_grow_with_learners_who_made_choices(db: None) -> None:
    small = _queries_with_preferences(15)
    Send.objects.all().delete()
    Enrollment.objects.all().delete()
    PreferenceChange.objects.all().delete()
    Learner.objects.all().delete()
    Manager.objects.all().delete()
    Campaign.objects.all().delete()
    large = _queries_with_preferences(150)
    assert small == large, (small, large)
