"""Delivery test set-up: an email backend that records what it is given and raises what it
is told to, and a drip with queued sends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings

from campaigns.engine.run import run_pass
from campaigns.models import Send
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even an ``except Exception``."""


class ScriptedBackend(BaseEmailBackend):
    """Records what it is given; raises the error scripted for a recipient."""

    opened: ClassVar[int] = 0
    sent: ClassVar[list[EmailMessage]] = []
    errors: ClassVar[dict[str, BaseException]] = {}
    fail_open: ClassVar[BaseException | None] = None
    # How many messages were handed over (one ESP call each), and after how many to "die".
    calls: ClassVar[int] = 0
    killed_after: ClassVar[int | None] = None

    def open(self) -> bool:
        if ScriptedBackend.fail_open is not None:
            raise ScriptedBackend.fail_open
        ScriptedBackend.opened += 1
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            if ScriptedBackend.killed_after == ScriptedBackend.calls:
                raise WorkerKilled
            ScriptedBackend.calls += 1
            error = ScriptedBackend.errors.get(message.to[0])
            if error is not None:
                raise error
            ScriptedBackend.sent.append(message)
        return len(email_messages)


@pytest.fixture
def scripted() -> Iterator[type[ScriptedBackend]]:
    ScriptedBackend.opened = 0
    ScriptedBackend.sent = []
    ScriptedBackend.errors = {}
    ScriptedBackend.fail_open = None
    ScriptedBackend.calls = 0
    ScriptedBackend.killed_after = None
    with override_settings(EMAIL_BACKEND=f"{__name__}.ScriptedBackend"):
        yield ScriptedBackend


def queued(n: int) -> list[Learner]:
    people = [
        CourseProgressFactory.create(learner=LearnerFactory.create()).learner for _ in range(n)
    ]
    run_pass(now=day(0))
    return people


def ids() -> list[int]:
    return list(Send.objects.order_by("pk").values_list("pk", flat=True))
