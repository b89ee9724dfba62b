"""Email: every message of a batch over one connection of the email backend (anymail's ESP,
or SMTP)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from django.core.mail import get_connection

from campaigns.delivery.channels import ChannelUnavailable, Outcomes, Transmit
from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import describe
from campaigns.delivery.transmit import ErrorStreak, transmit


@contextlib.contextmanager
def session() -> Iterator[Transmit]:
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        raise ChannelUnavailable(describe(exc)) from exc

    def send(claimed: Sequence[Claimed], streak: ErrorStreak) -> Outcomes:
        return transmit(claimed, connection, streak)

    try:
        yield send
    finally:
        connection.close()
