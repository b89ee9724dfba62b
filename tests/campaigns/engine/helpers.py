"""Shared set-up of the engine tests: learners in the drip, a pass on day n, what arrived."""

from __future__ import annotations

from collections import Counter

from django.core import mail

from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.results import PassResult
from campaigns.engine.run import run_pass
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import (
    CourseProgressFactory,
    LearnerFactory,
)


def learners(n: int, **fields: object) -> list[Learner]:
    return [
        CourseProgressFactory.create(learner=LearnerFactory.create(**fields)).learner
        for _ in range(n)
    ]


def run(n: int, *, hour: int = 9) -> PassResult:
    """A pass on day ``n`` and delivery of what it queued, like ``run_pass --deliver``."""
    result = run_pass(now=day(n, hour=hour))
    deliver_queued(now=day(n, hour=hour))
    return result


def received() -> Counter[tuple[str, str]]:
    return Counter((m.to[0], m.subject.split(":")[0]) for m in mail.outbox)
