"""One module per channel: each opens a session with its provider and hands claimed sends over
one by one, answering what happened to each (see :mod:`campaigns.delivery.outcomes`).

The steps around them are the same for every channel (:mod:`campaigns.delivery.deliver`):
claim, mark ``sending`` by compare-and-set just before the call, record, and reconcile a
send left ``sending`` by a worker that died.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome
from campaigns.delivery.transmit import ErrorStreak

Outcomes = list[tuple[Claimed, Outcome, str]]
Transmit = Callable[[Sequence[Claimed], ErrorStreak], Outcomes]


class ChannelUnavailable(Exception):
    """The provider cannot be reached or is not configured: nothing was handed over."""
