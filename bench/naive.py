"""The yardstick: the same day-0 work written the obvious way, one learner at a time.

For each candidate learner: load them, ask the segment whether they are in it, check for an
enrollment, find their course, create the enrollment and the send, render the email, send it
(``EmailMessage.send()``: one SMTP connection per message), mark it sent. About seven queries
a learner; the engine is judged against this.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from campaigns.content.emails import render_send
from campaigns.engine.segments import segment_learners
from campaigns.models import Audience, Campaign, Enrollment, Send
from learners.models import CourseProgress, Learner


@dataclass(frozen=True)
class NaiveResult:
    learners: int
    enrolled: int
    holdout: int
    sent: int
    queries: int
    seconds: float
    db_seconds: float
    render_seconds: float
    smtp_seconds: float
    enrollment_ids: list[int]

    @property
    def learners_per_second(self) -> float:
        return self.learners / self.seconds if self.seconds else 0.0

    @property
    def db_learners_per_second(self) -> float:
        """The database half alone (enroll + create the send): what a pass does."""
        return self.learners / self.db_seconds if self.db_seconds else 0.0


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def naive_loop(*, campaign: Campaign, now: dt.datetime, sample: int, seed: int = 7) -> NaiveResult:
    """Process the first ``sample`` members of the campaign's segment, one by one."""
    segment = campaign.segment
    step = campaign.steps.order_by("position").first()
    assert step is not None, "the campaign has no steps"
    variants = list(step.variants.all())
    candidates = list(
        segment_learners(segment, now=now).order_by("pk").values_list("pk", flat=True)[:sample]
    )
    rng = random.Random(seed)
    counter = _QueryCounter()
    enrollment_ids: list[int] = []
    holdout = sent = 0
    db_seconds = render_seconds = smtp_seconds = 0.0
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        for learner_id in candidates:
            t0 = time.perf_counter()
            learner = Learner.objects.get(pk=learner_id)
            if not segment_learners(segment, now=now).filter(pk=learner_id).exists():
                continue
            if Enrollment.objects.filter(learner=learner, status=Enrollment.Status.ACTIVE).exists():
                continue
            progress = (
                CourseProgress.objects.filter(learner=learner, percent_complete__lt=100)
                .select_related("course")
                .order_by("-updated_at")
                .first()
            )
            is_holdout = rng.random() * 100 < campaign.holdout_percent
            enrollment = Enrollment.objects.create(
                campaign=campaign,
                learner=learner,
                course=progress.course if progress else None,
                enrolled_at=now,
                is_holdout=is_holdout,
                next_step=None if is_holdout else 2,
            )
            enrollment_ids.append(enrollment.pk)
            if is_holdout:
                holdout += 1
                db_seconds += time.perf_counter() - t0
                continue
            send = Send.objects.create(
                enrollment=enrollment,
                campaign=campaign,
                step=step,
                variant=rng.choice(variants) if variants else None,
                kind=Send.Kind.STEP,
                audience=Audience.LEARNER,
                learner=learner,
                to_email=learner.email,
                status=Send.Status.SENDING,
                due_at=now,
                created_at=now,
            )
            t1 = time.perf_counter()
            email = render_send(send, progress=progress, now=now)
            t2 = time.perf_counter()
            email.as_message().send()
            t3 = time.perf_counter()
            Send.objects.filter(pk=send.pk).update(
                status=Send.Status.SENT,
                sent_at=now,
                subject=email.subject,
                destination_url=email.destination_url,
            )
            sent += 1
            t4 = time.perf_counter()
            db_seconds += (t1 - t0) + (t4 - t3)
            render_seconds += t2 - t1
            smtp_seconds += t3 - t2
    return NaiveResult(
        learners=len(candidates),
        enrolled=len(enrollment_ids),
        holdout=holdout,
        sent=sent,
        queries=counter.count,
        seconds=time.perf_counter() - started,
        db_seconds=db_seconds,
        render_seconds=render_seconds,
        smtp_seconds=smtp_seconds,
        enrollment_ids=enrollment_ids,
    )


def undo(enrollment_ids: list[int]) -> None:
    """Remove what the loop created, so the engine starts from the same data."""
    Send.objects.filter(enrollment_id__in=enrollment_ids).delete()
    Enrollment.objects.filter(pk__in=enrollment_ids).delete()
