"""``manage.py run_pass [--now 2026-12-01T09:00:00Z] [--deliver]``: one evaluation pass."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.delivery.awards import push_awards
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.digests import deliver_queued_digests
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.run import run_pass
from campaigns.feedback import apply as feedback
from campaigns.tasks import enqueue_award_pushes, enqueue_delivery, enqueue_digest_delivery


def parse_moment(value: str) -> dt.datetime:
    """An ISO 8601 moment with a zone (``Z`` or an offset)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be an ISO 8601 moment, not {value!r}") from None
    if moment.tzinfo is None:
        raise CommandError("--now needs a time zone, e.g. 2026-12-01T09:00:00Z")
    return moment


class Command(BaseCommand):
    help = (
        "Run one evaluation pass at --now (default: the current time). With --deliver, "
        "deliver what it queued in this process instead of handing it to Celery workers."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--now", type=parse_moment, help="e.g. 2026-12-01T09:00:00Z")
        parser.add_argument("--deliver", action="store_true", help="deliver synchronously")

    def handle(self, *args: Any, **options: Any) -> None:
        now: dt.datetime = options["now"] or timezone.now()
        feedback.apply_pending(now=now)
        unconfirmed = reconcile_stale(now=now)
        deliver_here = options["deliver"]
        pushes: list[int] = []
        result = run_pass(
            now=now,
            hand_over=None if deliver_here else enqueue_delivery,
            hand_over_awards=pushes.extend if deliver_here else enqueue_award_pushes,
            hand_over_digests=None if deliver_here else enqueue_digest_delivery,
        )
        if result.skipped_locked:
            self.stdout.write("another pass is running; nothing done")
            return
        counts = {**asdict(result), "unconfirmed": unconfirmed}
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
        if options["deliver"]:
            delivered = deliver_queued(now=now)
            delivered.add(deliver_queued_digests(now=now))
            self.stdout.write(
                "delivery: " + " ".join(f"{k}={v}" for k, v in asdict(delivered).items())
            )
            if pushes:
                pushed = push_awards(push_ids=pushes, now=now)
                self.stdout.write(
                    "awards to the LMS: " + " ".join(f"{k}={v}" for k, v in asdict(pushed).items())
                )
