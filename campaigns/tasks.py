"""Celery tasks: a few lines each around the engine and delivery, which hold the logic.

Tasks carry ids only. Drip timing and retries of temporary ESP refusals live in the database
(``next_due_at``, ``due_at``), never in Celery countdowns; Celery retries only when the
infrastructure itself (the database) is briefly unavailable. This is the only module that
imports Celery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TypedDict

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.utils import timezone

from campaigns.delivery.awards import push_awards as push_awards_to_lms
from campaigns.delivery.deliver import deliver
from campaigns.delivery.digests import deliver_digests
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.run import run_pass as run_engine_pass
from campaigns.feedback import apply as feedback
from campaigns.feedback.esp_events import events_stored


# A task that lost its database connection (a restart, a failover) runs again with a back-off;
# what it does is idempotent (claims, compare-and-set, applied_at), so a retry repeats nothing.
class _Retries(TypedDict):
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool
    retry_backoff_max: int
    max_retries: int


DATABASE_RETRIES = _Retries(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)


def enqueue_delivery(send_ids: Sequence[int]) -> int:
    """Hand send ids to delivery tasks in chunks; returns how many tasks were sent."""
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    tasks = 0
    for start in range(0, len(send_ids), size):
        deliver_sends.delay(list(send_ids[start : start + size]))
        tasks += 1
    return tasks


def enqueue_digest_delivery(digest_ids: Sequence[int]) -> int:
    """Hand weekly digest ids to delivery tasks in chunks; returns how many tasks were sent."""
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    tasks = 0
    for start in range(0, len(digest_ids), size):
        deliver_team_digests.delay(list(digest_ids[start : start + size]))
        tasks += 1
    return tasks


@shared_task(name="campaigns.tasks.run_pass")
def run_pass() -> dict[str, int | bool]:
    """The periodic evaluation pass (scheduled by the "Evaluate campaigns" PeriodicTask).

    ESP events stored but not applied (a lost task, a dead worker) are applied first, so the
    pass sees every bounce and complaint that came back."""
    now = timezone.now()
    feedback.apply_pending(now=now)
    unconfirmed = reconcile_stale(now=now)
    result = run_engine_pass(
        now=now,
        hand_over=enqueue_delivery,
        hand_over_awards=enqueue_award_pushes,
        hand_over_digests=enqueue_digest_delivery,
    )
    return {**asdict(result), "unconfirmed": unconfirmed}


@shared_task(
    name="campaigns.tasks.deliver_sends",
    **DATABASE_RETRIES,
)
def deliver_sends(send_ids: list[int]) -> dict[str, int]:
    """Deliver a chunk of queued sends; rows another worker holds are left alone."""
    return asdict(deliver(send_ids=send_ids, now=timezone.now()))


def enqueue_award_pushes(push_ids: Sequence[int]) -> int:
    """Hand award push ids to push tasks in chunks; returns how many tasks were sent."""
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    for start in range(0, len(push_ids), size):
        push_awards.delay(list(push_ids[start : start + size]))
    return -(-len(push_ids) // size)


@shared_task(
    name="campaigns.tasks.push_awards",
    **DATABASE_RETRIES,
)
def push_awards(push_ids: list[int]) -> dict[str, int]:
    """Push a chunk of awards to the LMS; retries of the LMS's refusals live in the rows
    (``next_attempt_at``), and the pass hands over whatever is due or was left in flight."""
    return asdict(push_awards_to_lms(push_ids=push_ids, now=timezone.now()))


@shared_task(
    name="campaigns.tasks.deliver_team_digests",
    **DATABASE_RETRIES,
)
def deliver_team_digests(digest_ids: list[int]) -> dict[str, int]:
    """Deliver a chunk of queued weekly digests; rows another worker holds are left alone."""
    return asdict(deliver_digests(digest_ids=digest_ids, now=timezone.now()))


@shared_task(
    name="campaigns.tasks.apply_esp_events",
    **DATABASE_RETRIES,
)
def apply_esp_events(event_ids: list[int]) -> dict[str, int]:
    """Apply a chunk of stored ESP events; the pass picks up any this task never got to."""
    return asdict(feedback.apply_events(event_ids=event_ids, now=timezone.now()))


def enqueue_esp_events(event_ids: list[int]) -> int:
    """Hand stored event ids to apply tasks in chunks; returns how many tasks were sent."""
    size = feedback.BATCH_SIZE
    for start in range(0, len(event_ids), size):
        apply_esp_events.delay(event_ids[start : start + size])
    return -(-len(event_ids) // size)


@receiver(events_stored, dispatch_uid="campaigns.tasks.enqueue_stored_events")
def enqueue_stored_events(sender: object, event_ids: list[int], **kwargs: object) -> None:
    """Stored ESP events go to the apply task once their request has committed."""
    enqueue_esp_events(event_ids)
