"""The machine's limit for delivery: Celery workers that only send pre-rendered email over SMTP.

One real email is rendered once (by the benchmark, from a real send) and stored as JSON; each
task sends ``count`` copies of it through Django's SMTP backend on one connection, the way the
product's delivery sends a batch, but with no database and no template work. Django is set up
with a bare in-memory configuration (no project settings, no database), so nothing but the
send is measured.

Workers: ``celery -A bench.bare_loop worker --concurrency=2`` with ``BENCH_BROKER_URL``,
``BENCH_MESSAGE_FILE``, ``BENCH_SMTP_PORT`` set.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from celery import Celery
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

QUEUE = "bench-bare"

app = Celery("bench_bare")
app.conf.update(
    broker_url=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"),
    broker_connection_retry_on_startup=True,
    task_default_queue=QUEUE,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    # The same delivery guarantees as the product's worker (reengagement/settings.py).
    task_acks_late=True,
    worker_prefetch_multiplier=1,
)


@cache
def _message() -> EmailMultiAlternatives:
    if not settings.configured:
        settings.configure(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=int(os.environ["BENCH_SMTP_PORT"]),
            EMAIL_TIMEOUT=30,
            USE_TZ=True,
        )
    data = json.loads(Path(os.environ["BENCH_MESSAGE_FILE"]).read_text())
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["text"],
        from_email=data["from_email"],
        to=[data["to"]],
        reply_to=data["reply_to"] or None,
        headers=data["headers"],
    )
    message.attach_alternative(data["html"], "text/html")
    return message


@app.task(name="bench.bare_loop.send_batch")
def send_batch(count: int) -> int:
    """Send ``count`` copies of the stored email on one SMTP connection."""
    message = _message()
    connection = get_connection()
    return connection.send_messages([message] * count) or 0


def enqueue(*, total: int, batch_size: int) -> int:
    """Queue tasks for ``total`` messages in batches; returns the number of tasks."""
    tasks = 0
    for start in range(0, total, batch_size):
        send_batch.delay(min(batch_size, total - start))
        tasks += 1
    return tasks
