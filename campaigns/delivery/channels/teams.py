"""Microsoft Teams: an Adaptive Card (a nudge, or a weekly digest) posted to the team channel's
Workflows webhook (the URL staff keep per team in the admin). Workflows answers 202 Accepted
and returns no message id."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence

import requests
from django.conf import settings

from campaigns.delivery.channels import Outcomes, Transmit
from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome, describe
from campaigns.delivery.transmit import ErrorStreak, not_attempted
from learners.models import TeamChannel

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = dt.timedelta(seconds=60)


def _retry_after(response: requests.Response) -> dt.timedelta:
    try:
        return dt.timedelta(seconds=max(int(response.headers.get("Retry-After", "")), 1))
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _classify_error(exc: requests.RequestException) -> Outcome:
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return Outcome.TRANSIENT
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        return Outcome.TRANSIENT
    return Outcome.UNKNOWN


def transmit(claimed: Sequence[Claimed], streak: ErrorStreak, http: requests.Session) -> Outcomes:
    """Post each card to its team's webhook; what happened to each."""
    hooks = dict(
        TeamChannel.objects.filter(team__in={c.send.to_address for c in claimed}).values_list(
            "team", "webhook_url"
        )
    )
    outcomes: Outcomes = []
    for index, item in enumerate(claimed):
        if streak.gave_up:
            outcomes += not_attempted(claimed[index:], streak)
            break
        url = hooks.get(item.send.to_address, "")
        if not url.lower().startswith("https://"):
            outcomes.append(
                (item, Outcome.FALLBACK, f"no Teams channel for “{item.send.to_address}”")
            )
            continue
        try:
            response = http.post(url, json=item.teams, timeout=settings.CHANNEL_HTTP_TIMEOUT)
        except requests.RequestException as exc:
            outcome = _classify_error(exc)
            outcomes.append((item, outcome, describe(exc)))
            streak.count += 1
            continue
        if response.status_code in (200, 201, 202):
            streak.count = 0
            outcomes.append((item, Outcome.SENT, ""))
        elif response.status_code == 429:
            streak.hold = item.retry_after = _retry_after(response)
            outcomes.append(
                (item, Outcome.TRANSIENT, f"rate limited by Teams: retry after {streak.hold}")
            )
        else:
            outcome = Outcome.TRANSIENT if response.status_code >= 500 else Outcome.PERMANENT
            streak.count += outcome is Outcome.TRANSIENT
            detail = f"Teams webhook answered {response.status_code}: {response.text[:300]}"
            logger.warning("send %s: %s", item.send.pk, detail)
            outcomes.append((item, outcome, detail))
    return outcomes


@contextlib.contextmanager
def session(now: dt.datetime) -> Iterator[Transmit]:
    with requests.Session() as http:

        def send(claimed: Sequence[Claimed], streak: ErrorStreak) -> Outcomes:
            return transmit(claimed, streak, http)

        yield send
