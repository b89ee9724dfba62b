"""Releasing scheduled sends when the recipient's window and the weekly cap allow, and
handing lost queued sends to delivery again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Least, RowNumber

from campaigns.engine import windows
from campaigns.engine.results import ReleaseResult
from campaigns.engine.sql import SEND, fetch_ids
from campaigns.models import Audience, Campaign, Channel, ManagerDigest, Send
from campaigns.models.outbox import EMAIL_OFF_REASON, MANAGER_PAUSED_REASON, PAUSED_REASON
from learners.models import ChannelPreference, ContactChannel

# A queued send handed to a delivery task that has not been claimed after this long is
# handed over again: its task was lost (flushed broker, crashed publisher). Delivery claims
# rows, so a duplicate task costs nothing.
REENQUEUE_AFTER = dt.timedelta(minutes=15)
# The frequency cap looks back this far.
CAP_WINDOW = dt.timedelta(days=7)

# Sends that count toward the weekly cap: out, or on their way out.
IN_FLIGHT_OR_SENT = (
    Send.Status.QUEUED,
    Send.Status.SENDING,
    Send.Status.SENT,
    Send.Status.UNCONFIRMED,
)


def _skip_unreachable(*, now: dt.datetime) -> int:
    """Skip due sends whose recipient can no longer be mailed (unsubscribed, suppressed, opted
    out, paused or with email turned off since the send was created)."""
    due = Send.objects.filter(status=Send.Status.SCHEDULED, due_at__lte=now)
    skipped = due.filter(audience=Audience.LEARNER, learner__unsubscribed_at__isnull=False).update(
        status=Send.Status.SKIPPED, skip_reason="learner unsubscribed"
    )
    skipped += due.filter(
        audience=Audience.LEARNER, channel=Channel.EMAIL, learner__suppressed_at__isnull=False
    ).update(status=Send.Status.SKIPPED, skip_reason="address suppressed")
    skipped += due.filter(
        audience=Audience.LEARNER, learner__reminders_paused_until__gt=now
    ).update(status=Send.Status.SKIPPED, skip_reason=PAUSED_REASON)
    skipped += due.filter(
        Exists(
            ChannelPreference.objects.filter(
                learner_id=OuterRef("learner_id"), channel=ContactChannel.EMAIL, enabled=False
            )
        ),
        audience=Audience.LEARNER,
        channel=Channel.EMAIL,
    ).update(status=Send.Status.SKIPPED, skip_reason=EMAIL_OFF_REASON)
    skipped += due.filter(
        audience=Audience.MANAGER, manager__nudges_opted_out_at__isnull=False
    ).update(status=Send.Status.SKIPPED, skip_reason="manager opted out")
    skipped += due.filter(audience=Audience.MANAGER, manager__messages_paused_until__gt=now).update(
        status=Send.Status.SKIPPED, skip_reason=MANAGER_PAUSED_REASON
    )
    return skipped


def release_due_sends(*, now: dt.datetime, hand_over: bool = False) -> ReleaseResult:
    """Move due ``scheduled`` sends of active campaigns to ``queued`` where the learner's local
    time, the sending days and the weekly cap allow; otherwise move ``due_at`` to the next
    allowed moment with ``postponed_reason`` set. Nothing is ever dropped for timing.

    Quiet hours and sending days are decided once per (campaign, time zone) in Python, then
    applied with one ``UPDATE`` per group that must wait. With ``hand_over`` the queued sends
    are stamped ``enqueued_at`` and their ids returned for delivery tasks.
    """
    due = Send.objects.filter(
        status=Send.Status.SCHEDULED, due_at__lte=now, campaign__status=Campaign.Status.ACTIVE
    )
    groups = list(due.order_by().values_list("campaign_id", "learner__time_zone").distinct())
    if not groups:
        return ReleaseResult()
    result = ReleaseResult(skipped=_skip_unreachable(now=now))
    # Those just skipped are no longer due.
    groups = list(due.order_by().values_list("campaign_id", "learner__time_zone").distinct())
    campaigns = Campaign.objects.in_bulk({campaign_id for campaign_id, _ in groups})
    open_groups: dict[int, list[str]] = {}
    for campaign_id, time_zone in groups:
        campaign = campaigns[campaign_id]
        window = windows.window_for(
            quiet_start=campaign.quiet_hours_start,
            quiet_end=campaign.quiet_hours_end,
            weekdays=campaign.weekday_list,
        )
        decision = windows.decide(now=now, time_zone=time_zone, window=window)
        if decision.allowed:
            open_groups.setdefault(campaign_id, []).append(time_zone)
            continue
        result.postponed += due.filter(
            campaign_id=campaign_id, learner__time_zone=time_zone
        ).update(due_at=decision.next_allowed, postponed_reason=decision.reason)
    if not open_groups:
        return result
    allowed = Q()
    for campaign_id, zones in open_groups.items():
        allowed |= Q(campaign_id=campaign_id, learner__time_zone__in=zones)
    result.postponed += _postpone_over_cap(due.filter(allowed), now=now)

    ready = due.filter(allowed).order_by().values("id")
    ready_sql, ready_params = ready.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    queued_ids = fetch_ids(
        f"UPDATE {SEND} SET status = %s, enqueued_at = %s WHERE id IN ({ready_sql}) RETURNING id",  # noqa: S608
        [Send.Status.QUEUED, adapt(now) if hand_over else None, *ready_params],
    )
    result.queued = len(queued_ids)
    if hand_over:
        result.send_ids = queued_ids
    return result


def _postpone_over_cap(candidates: Any, *, now: dt.datetime) -> int:
    """Postpone learner step sends whose learner already has ``weekly_cap`` emails (or their
    own lower cap) out or on their way in the last 7 days (any campaign, and weekly digests to
    a manager who is that learner) until the oldest of those leaves the window."""
    counted = Send.objects.filter(
        learner_id=OuterRef("learner_id"),
        audience=Audience.LEARNER,
        status__in=IN_FLIGHT_OR_SENT,
    ).annotate(at=Coalesce("sent_at", "claimed_at", "due_at"))
    counted = counted.filter(at__gt=now - CAP_WINDOW)
    digests = ManagerDigest.objects.filter(
        manager__learner_id=OuterRef("learner_id"), status__in=IN_FLIGHT_OR_SENT
    ).annotate(at=Coalesce("sent_at", "claimed_at", "due_at"))
    digests = digests.filter(at__gt=now - CAP_WINDOW)

    def per_learner(rows: Any, key: str, value: Any, field: Any) -> Subquery:
        grouped = rows.order_by().values(key).annotate(v=value).values("v")[:1]
        return Subquery(grouped, output_field=field)

    sends_recent = Coalesce(per_learner(counted, "learner_id", Count("pk"), IntegerField()), 0)
    digests_recent = Coalesce(
        per_learner(digests, "manager__learner_id", Count("pk"), IntegerField()), 0
    )
    recent = sends_recent + digests_recent
    first_send = per_learner(counted, "learner_id", Min("at"), DateTimeField())
    first_digest = per_learner(digests, "manager__learner_id", Min("at"), DateTimeField())
    oldest = Least(Coalesce(first_send, first_digest), Coalesce(first_digest, first_send))
    over = candidates.filter(audience=Audience.LEARNER, kind=Send.Kind.STEP).alias(recent=recent)
    # The campaign's cap, or the learner's own when it is lower.
    cap = Least(
        F("campaign__weekly_cap"), Coalesce(F("learner__weekly_cap"), F("campaign__weekly_cap"))
    )
    postponed = over.filter(recent__gte=cap).update(
        due_at=Greatest(
            ExpressionWrapper(oldest + CAP_WINDOW, output_field=DateTimeField()),
            Value(now + dt.timedelta(minutes=1), output_field=DateTimeField()),
        ),
        postponed_reason="weekly cap",
    )
    # Several sends of one learner due together (a backlog held by the cap, two campaigns):
    # only as many as the cap still allows go now, oldest first. The others wait a minute, and
    # the next pass, counting those that went, gives them their time in the window.
    ranked = over.alias(
        rank=Window(RowNumber(), partition_by=[F("learner_id")], order_by=[F("due_at"), F("pk")])
    ).filter(rank__gt=cap - F("recent"))
    postponed += Send.objects.filter(pk__in=ranked.values("pk")).update(
        due_at=now + dt.timedelta(minutes=1), postponed_reason="weekly cap"
    )
    return postponed


def hand_over_stale(*, now: dt.datetime, limit: int | None = None) -> list[int]:
    """Queued, due sends no delivery task is known to hold (retries whose back-off has passed,
    tasks lost with the broker): stamp and return at most ``limit`` of them, oldest first, to
    be handed to delivery again.

    Bounded (``REHAND_MAX_PER_PASS`` by default) so that a backlog of a million queued sends
    is handed over a slice per pass instead of one pass stamping and enqueueing all of them.
    """
    limit = int(settings.REHAND_MAX_PER_PASS) if limit is None else int(limit)
    adapt = connection.ops.adapt_datetimefield_value
    return fetch_ids(
        f"""
        UPDATE {SEND} SET enqueued_at = %s
        WHERE id IN (
            SELECT id FROM {SEND}
            WHERE status = %s AND due_at <= %s AND (enqueued_at IS NULL OR enqueued_at < %s)
              AND campaign_id IN (SELECT id FROM {Campaign._meta.db_table} WHERE status = %s)
            ORDER BY due_at, id
            LIMIT %s
        )
        RETURNING id
        """,  # noqa: S608
        [
            adapt(now),
            Send.Status.QUEUED,
            adapt(now),
            adapt(now - REENQUEUE_AFTER),
            Campaign.Status.ACTIVE,
            limit,
        ],
    )
