"""Slack: a direct message to the manager from the bot (a nudge, or the weekly digest),
through the official ``slack_sdk``.

The manager's Slack user id comes from ``users.lookupByEmail`` the first time and is kept on
the manager; a manager Slack does not know is marked so, and this nudge and later ones go by
email. A rate limit (HTTP 429) stops the batch: the send and the rest wait for as long as
``Retry-After`` says, without a worker sleeping. The SDK's own retries are off: a post that
broke off mid-way may have arrived, and is never repeated blindly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import urllib.error
from collections.abc import Iterator, Sequence

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from campaigns.delivery.channels import ChannelUnavailable, Outcomes, Transmit
from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome, describe
from campaigns.delivery.transmit import ErrorStreak, not_attempted
from learners.models import Manager

logger = logging.getLogger(__name__)

# Slack's answers that mean "no such person to write to": the nudge goes by email.
NOT_ON_SLACK = {"users_not_found", "user_not_found", "user_disabled", "channel_not_found"}
# Without a Retry-After header, Slack's documented minimum wait.
DEFAULT_RETRY_AFTER = dt.timedelta(seconds=30)


def client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_BASE_URL,
        timeout=settings.CHANNEL_HTTP_TIMEOUT,
        retry_handlers=[],
    )


def retry_after(error: SlackApiError) -> dt.timedelta:
    """How long Slack asked to wait (its Retry-After header, in seconds)."""
    headers = {name.lower(): value for name, value in (error.response.headers or {}).items()}
    raw = headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return dt.timedelta(seconds=max(int(str(raw)), 1))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


class _NotOnSlack(Exception):
    pass


class _Directory:
    """Managers' Slack user ids: the stored one, else users.lookupByEmail once per manager
    per batch; what is learned is written to the manager at once."""

    def __init__(self, web: WebClient, now: dt.datetime) -> None:
        self.web, self.now = web, now
        self.known: dict[int, str] = {}

    def user_id(self, claimed: Claimed) -> str:
        send = claimed.send  # a manager nudge, or a weekly digest
        manager = send.manager
        if manager is None:
            raise _NotOnSlack("the learner has no manager")
        found = send.to_address or manager.slack_user_id or self.known.get(manager.pk, "")
        if found:
            return found
        try:
            response = self.web.users_lookupByEmail(email=manager.email)
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_ON_SLACK:
                Manager.objects.filter(pk=manager.pk).update(slack_not_found_at=self.now)
                raise _NotOnSlack(f"Slack knows no user {manager.email}") from None
            raise
        user = response.get("user") or {}
        user_id = str(user.get("id") or "")
        if not user_id:
            raise _NotOnSlack(f"Slack knows no user {manager.email}")
        self.known[manager.pk] = user_id
        Manager.objects.filter(pk=manager.pk).update(slack_user_id=user_id)
        return user_id


def _classify(exc: BaseException) -> Outcome:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return Outcome.TRANSIENT if status >= 500 else Outcome.PERMANENT
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, ConnectionRefusedError):
        return Outcome.TRANSIENT
    if isinstance(exc, ConnectionRefusedError):
        return Outcome.TRANSIENT
    if isinstance(exc, socket.timeout | TimeoutError | urllib.error.URLError):
        # The post may have reached Slack before the answer was lost.
        return Outcome.UNKNOWN
    return Outcome.UNKNOWN


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack: {exc.response.get('error') or exc.response.status_code}"
    return describe(exc)


def transmit(
    claimed: Sequence[Claimed], streak: ErrorStreak, web: WebClient, now: dt.datetime
) -> Outcomes:
    """Post each nudge or digest as a DM; what happened to each."""
    directory = _Directory(web, now)
    outcomes: Outcomes = []
    for index, item in enumerate(claimed):
        if streak.gave_up:
            outcomes += not_attempted(claimed[index:], streak)
            break
        assert item.slack is not None
        try:
            user_id = directory.user_id(item)
        except _NotOnSlack as exc:
            outcomes.append((item, Outcome.FALLBACK, str(exc)))
            continue
        except Exception as exc:
            outcomes.append(_failed(item, exc, streak, looked_up=True))
            continue
        try:
            response = web.chat_postMessage(
                channel=user_id,
                text=item.slack.text,
                blocks=item.slack.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            if isinstance(exc, SlackApiError) and exc.response.get("error") in NOT_ON_SLACK:
                outcomes.append((item, Outcome.FALLBACK, _error_text(exc)))
                continue
            outcomes.append(_failed(item, exc, streak, looked_up=False))
            continue
        streak.count = 0
        item.send.to_address = user_id
        outcomes.append(
            (item, Outcome.SENT, f"{response.get('channel', '')}:{response.get('ts', '')}")
        )
    return outcomes


def _failed(
    item: Claimed, exc: BaseException, streak: ErrorStreak, *, looked_up: bool
) -> tuple[Claimed, Outcome, str]:
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        streak.hold = item.retry_after = retry_after(exc)
        logger.warning("send %s: Slack rate limit, retry after %s", item.send.pk, streak.hold)
        return item, Outcome.TRANSIENT, f"rate limited by Slack: retry after {streak.hold}"
    outcome = _classify(exc)
    if looked_up and outcome is Outcome.UNKNOWN:
        # Only the lookup broke off: nothing was posted.
        outcome = Outcome.TRANSIENT
    logger.warning("send %s: %s (%s)", item.send.pk, _error_text(exc), outcome.value)
    streak.count += outcome in (Outcome.TRANSIENT, Outcome.UNKNOWN)
    return item, outcome, _error_text(exc)


@contextlib.contextmanager
def session(now: dt.datetime) -> Iterator[Transmit]:
    if not settings.SLACK_BOT_TOKEN:
        raise ChannelUnavailable("Slack is not configured: set SLACK_BOT_TOKEN")
    web = client()

    def send(claimed: Sequence[Claimed], streak: ErrorStreak) -> Outcomes:
        return transmit(claimed, streak, web, now)

    yield send
