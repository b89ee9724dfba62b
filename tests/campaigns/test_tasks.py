"""The thin edges: Celery tasks, the beat schedule and the ``run_pass`` command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from campaigns import tasks
from campaigns.delivery.awards import PushResult
from campaigns.delivery.outcomes import DeliveryResult
from campaigns.engine.results import PassResult
from campaigns.models import Campaign, Send
from tests.factories import CourseProgressFactory

pytestmark = pytest.mark.django_db


def test_the_pass_is_scheduled_every_five_minutes_by_a_periodic_task() -> None:
    task = PeriodicTask.objects.get(name="Evaluate campaigns")
    assert task.task == tasks.run_pass.name == "campaigns.tasks.run_pass"
    assert (task.interval.every, task.interval.period, task.enabled) == (5, "minutes", True)


def test_the_run_pass_task_runs_one_pass_now() -> None:
    with mock.patch("campaigns.tasks.run_engine_pass", return_value=PassResult(enrolled=2)) as run:
        assert tasks.run_pass.run()["enrolled"] == 2
    now = run.call_args.kwargs["now"]
    assert now.tzinfo is not None and run.call_args.args == ()


def test_the_delivery_task_delivers_the_ids_it_carries() -> None:
    with mock.patch("campaigns.tasks.deliver", return_value=DeliveryResult(sent=3)) as deliver:
        assert tasks.deliver_sends.run([1, 2, 3])["sent"] == 3
    assert deliver.call_args.kwargs["send_ids"] == [1, 2, 3]


def test_only_infrastructure_errors_are_retried_by_celery() -> None:
    assert OperationalError in getattr(tasks.deliver_sends, "autoretry_for")  # noqa: B009
    assert tasks.deliver_sends.name == "campaigns.tasks.deliver_sends"


def test_run_pass_command_runs_and_delivers_at_the_given_moment(drip: Campaign) -> None:
    learner = CourseProgressFactory.create().learner
    out = StringIO()
    call_command("run_pass", "--now", "2026-12-01T09:00:00Z", "--deliver", stdout=out)
    assert "enrolled=1" in out.getvalue() and "sent=1" in out.getvalue()
    assert [m.to for m in mail.outbox] == [[learner.email]]
    send = Send.objects.get()
    assert send.sent_at == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def test_run_pass_command_refuses_a_moment_without_a_zone() -> None:
    with pytest.raises(CommandError, match="time zone"):
        call_command("run_pass", "--now", "2026-12-01T09:00:00")


def test_the_pass_task_hands_due_award_pushes_to_push_tasks_in_chunks() -> None:
    with (
        mock.patch("campaigns.tasks.run_engine_pass", return_value=PassResult()) as run,
        mock.patch.object(tasks.push_awards, "delay") as delay,
    ):
        tasks.run_pass.run()
        hand_over = run.call_args.kwargs["hand_over_awards"]
        with override_settings(DELIVERY_BATCH_SIZE=2):
            assert hand_over([1, 2, 3]) == 2
    assert [c.args for c in delay.call_args_list] == [([1, 2],), ([3],)]


def test_the_push_task_pushes_the_ids_it_carries() -> None:
    with mock.patch(
        "campaigns.tasks.push_awards_to_lms", return_value=PushResult(pushed=2)
    ) as push:
        assert tasks.push_awards.run([4, 5])["pushed"] == 2
    assert push.call_args.kwargs["push_ids"] == [4, 5]
    assert OperationalError in getattr(tasks.push_awards, "autoretry_for")  # noqa: B009
