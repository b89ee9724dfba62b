"""Pushing awards to the LMS: exactly once per award, as far as the LMS can tell.

Each award has one outbox row (:class:`~campaigns.models.AwardPush`). A worker claims rows with
``SELECT … FOR UPDATE SKIP LOCKED`` and marks them ``sending`` (compare-and-set) in a
transaction of its own *before* any HTTP call, then POSTs each award and records the answer.
A worker that dies after the LMS got the request but before the answer was recorded leaves the
row ``sending``; the pass hands it over again once it is stale, and the request goes with the
same ``Idempotency-Key``, so the LMS can tell it already has that award. Temporary failures
(no answer, 408, 429, 5xx) are retried with exponential back-off; other 4xx answers give up
and show in the admin.

The body is JSON; ``X-Signature`` is ``sha256=`` + HMAC-SHA256 under
``AWARD_WEBHOOK_SECRET`` of ``"{timestamp}." + body``, with the Unix time in
``X-Timestamp``, so the LMS can refuse a forged or replayed request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q

from campaigns.models import Award, AwardPush

RETRYABLE = {408, 425, 429}
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass
class PushResult:
    claimed: int = 0
    pushed: int = 0
    retried: int = 0
    failed: int = 0


def signature(*, body: bytes, timestamp: str, secret: str) -> str:
    """The ``X-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def award_payload(award: Award) -> dict[str, Any]:
    """What the LMS is told: who (by LMS id), what, and until when. No address or name."""
    return {
        "award_id": award.pk,
        "idempotency_key": f"award-{award.pk}",
        "learner_id": award.learner.external_id,
        "campaign": award.enrollment.campaign.slug,
        "incentive": {"id": award.incentive_id, "kind": award.kind, "title": award.title},
        "value": award.value,
        "code": award.code,
        "returned_at": award.returned_at,
        "awarded_at": award.awarded_at,
        "expires_at": award.expires_at,
    }


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.AWARD_PUSH_STALE_SECONDS)
    return Q(status=AwardPush.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=AwardPush.Status.SENDING, claimed_at__lte=stale
    )


def claim(*, push_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Lock the due rows among ``push_ids`` that no other worker holds and mark them sending;
    committed before returning, so a crash after this leaves them visible as in flight."""
    with transaction.atomic():
        ids = list(
            AwardPush.objects.filter(_claimable(now), pk__in=list(push_ids))
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        marked = AwardPush.objects.filter(_claimable(now), pk__in=ids).update(
            status=AwardPush.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        assert marked == len(ids), "claimed rows changed under their lock"
    return ids


def _record(push: AwardPush, **values: Any) -> bool:
    # Compare-and-set: only the claim this worker made may be recorded.
    return bool(
        AwardPush.objects.filter(
            pk=push.pk, status=AwardPush.Status.SENDING, claimed_at=push.claimed_at
        ).update(**values)
    )


def _retry_or_fail(push: AwardPush, *, now: dt.datetime, error: str, status: int | None) -> str:
    if push.attempts >= settings.AWARD_PUSH_MAX_ATTEMPTS:
        _record(
            push, status=AwardPush.Status.FAILED, last_error=error[:2000], response_status=status
        )
        return "failed"
    backoff = min(dt.timedelta(minutes=2 ** (push.attempts - 1)), MAX_BACKOFF)
    _record(
        push,
        status=AwardPush.Status.PENDING,
        next_attempt_at=now + backoff,
        last_error=error[:2000],
        response_status=status,
    )
    return "retried"


def post_award(*, push: AwardPush, session: requests.Session, now: dt.datetime) -> str:
    """One HTTP attempt for a claimed push, and its outcome recorded: pushed, retried, failed."""
    body = json.dumps(award_payload(push.award), cls=DjangoJSONEncoder).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": push.idempotency_key,
        "X-Timestamp": timestamp,
        "X-Signature": signature(
            body=body, timestamp=timestamp, secret=settings.AWARD_WEBHOOK_SECRET
        ),
    }
    try:
        response = session.post(
            settings.AWARD_WEBHOOK_URL,
            data=body,
            headers=headers,
            timeout=settings.AWARD_PUSH_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return _retry_or_fail(push, now=now, error=f"{type(exc).__name__}: {exc}", status=None)
    code = response.status_code
    if 200 <= code < 300:
        _record(
            push, status=AwardPush.Status.PUSHED, pushed_at=now, response_status=code, last_error=""
        )
        return "pushed"
    error = f"HTTP {code}: {response.text[:500]}"
    if code in RETRYABLE or code >= 500:
        return _retry_or_fail(push, now=now, error=error, status=code)
    _record(push, status=AwardPush.Status.FAILED, last_error=error, response_status=code)
    return "failed"


def push_awards(
    *, push_ids: Sequence[int], now: dt.datetime, session: requests.Session | None = None
) -> PushResult:
    """Claim the due pushes among ``push_ids`` and POST each award to the LMS."""
    result = PushResult()
    if not settings.AWARD_WEBHOOK_URL:
        return result
    ids = claim(push_ids=push_ids, now=now)
    result.claimed = len(ids)
    pushes = AwardPush.objects.filter(pk__in=ids).select_related(
        "award__learner", "award__enrollment__campaign"
    )
    with session or requests.Session() as http:
        for push in pushes.order_by("pk"):
            outcome = post_award(push=push, session=http, now=now)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result
