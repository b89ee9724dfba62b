"""Celery tasks: a few lines each around the engine and delivery, which hold the logic.

Tasks carry ids only. Drip timing and retries of temporary ESP refusals live in the database
(``next_due_at``, ``due_at``), never in Celery countdowns; Celery retries only when the
infrastructure itself (the database) is briefly unavailable.
"""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from campaigns.delivery import deliver as delivery
from campaigns.engine import run as engine


@shared_task(name="campaigns.tasks.run_pass")
def run_pass() -> dict[str, int | bool]:
    """The periodic evaluation pass (scheduled by the "Evaluate campaigns" PeriodicTask)."""
    return asdict(engine.run_pass(now=timezone.now()))


@shared_task(
    name="campaigns.tasks.deliver_sends",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def deliver_sends(send_ids: list[int]) -> dict[str, int]:
    """Deliver a chunk of queued sends; rows another worker holds are left alone."""
    return asdict(delivery.deliver(send_ids=send_ids, now=timezone.now()))
