"""Creating the sends that are due: one ``INSERT … SELECT`` per step and audience, each send
starting in its final state (queued, postponed or skipped with the reason)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
)

from campaigns.engine import windows
from campaigns.engine.buckets import due_expression, steps_of, variant_case_sql
from campaigns.engine.release import (
    CAP_WINDOW,
    IN_FLIGHT_OR_SENT,
)
from campaigns.engine.results import SendBatch
from campaigns.engine.sql import (
    DIGEST,
    ENROLLMENT,
    LEARNER,
    MANAGER,
    SEND,
    Rule,
    case_sql,
    without_nested_loops,
)
from campaigns.models import Audience, Campaign, Channel, Enrollment, Send, Step
from campaigns.models.outbox import EMAIL_OFF_REASON, MANAGER_PAUSED_REASON, PAUSED_REASON
from learners.models import ChannelPreference, ContactChannel, TeamChannel

CHANNEL_PREFERENCE = ChannelPreference._meta.db_table

TEAM_CHANNEL = TeamChannel._meta.db_table


@dataclass(frozen=True)
class Reach:
    """How a step's channel reaches one audience, in SQL over ``l``, ``m`` and ``tc`` (the
    learner's team's Teams channel): who has an address there, and what the address is.
    Everyone else gets the email."""

    channel: str
    reachable: str
    address: str


REACH: dict[tuple[str, str], Reach] = {
    (Channel.SMS, Audience.LEARNER): Reach(
        Channel.SMS,
        "l.phone <> '' AND l.sms_consent_at IS NOT NULL AND l.sms_opted_out_at IS NULL",
        "l.phone",
    ),
    # Slack tells who has an account only when asked (users.lookupByEmail, at delivery); a
    # manager it once said it does not know gets email until staff clear the mark.
    (Channel.SLACK, Audience.MANAGER): Reach(
        Channel.SLACK, "m.id IS NOT NULL AND m.slack_not_found_at IS NULL", "m.slack_user_id"
    ),
    (Channel.TEAMS, Audience.MANAGER): Reach(Channel.TEAMS, "tc.id IS NOT NULL", "l.team"),
    (Channel.SMS, Audience.MANAGER): Reach(
        Channel.SMS,
        "m.id IS NOT NULL AND m.phone <> '' AND m.sms_consent_at IS NOT NULL "
        "AND m.sms_opted_out_at IS NULL",
        "m.phone",
    ),
}


def reach_of(channel: str, audience: str) -> Reach | None:
    """How ``channel`` reaches ``audience``; None for email (or a pairing the launch check
    refuses), which goes to the address on file."""
    return REACH.get((channel, audience))


def _channel_columns(reach: Reach | None) -> tuple[str, str, str]:
    """SQL for the channel and address columns, and the join they need ("" if none)."""
    if reach is None:
        return f"'{Channel.EMAIL}'", "''", ""
    join = ""
    if reach.channel == Channel.TEAMS:
        join = f"LEFT JOIN {TEAM_CHANNEL} tc ON tc.team = l.team AND l.team <> ''"
    return (
        f"CASE WHEN {reach.reachable} THEN '{reach.channel}' ELSE '{Channel.EMAIL}' END",
        f"CASE WHEN {reach.reachable} THEN {reach.address} ELSE '' END",
        join,
    )


def learner_skips(channel_sql: str, now: dt.datetime) -> tuple[Rule, ...]:
    """Why a learner message is not sent at all; a pause skips the steps due while it lasts
    (the drip goes on after it, rather than sending what it held back all at once)."""
    at = connection.ops.adapt_datetimefield_value(now)
    email = f"{channel_sql} = '{Channel.EMAIL}'"
    return (
        Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
        # A bounced email address says nothing about a phone: only an email is stopped by it.
        Rule(
            f"l.suppressed_at IS NOT NULL AND {email}",
            (),
            Send.Status.SKIPPED,
            "address suppressed",
        ),
        Rule("l.reminders_paused_until > %s", (at,), Send.Status.SKIPPED, PAUSED_REASON),
        Rule(
            f"{email} AND EXISTS (SELECT 1 FROM {CHANNEL_PREFERENCE} cp "  # noqa: S608
            "WHERE cp.learner_id = l.id AND cp.channel = %s AND NOT cp.enabled)",
            (ContactChannel.EMAIL.value,),
            Send.Status.SKIPPED,
            EMAIL_OFF_REASON,
        ),
    )


def manager_skips(now: dt.datetime) -> tuple[Rule, ...]:
    at = connection.ops.adapt_datetimefield_value(now)
    return (
        Rule("m.id IS NULL", (), Send.Status.SKIPPED, "learner has no manager"),
        Rule("m.nudges_opted_out_at IS NOT NULL", (), Send.Status.SKIPPED, "manager opted out"),
        Rule("m.messages_paused_until > %s", (at,), Send.Status.SKIPPED, MANAGER_PAUSED_REASON),
        Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
    )


# The lower of the campaign's cap (the parameter) and the learner's own.
_EFFECTIVE_CAP = (
    "CASE WHEN l.weekly_cap IS NOT NULL AND l.weekly_cap < %s THEN l.weekly_cap ELSE %s END"
)


CAP_REASON = "weekly cap"


def capped_rule(cap: int) -> Rule:
    return Rule(
        f"capped.sent >= {_EFFECTIVE_CAP}",
        (int(cap), int(cap)),
        Send.Status.SCHEDULED,
        postponed_reason=CAP_REASON,
    )


def insert_sends(
    *,
    audience: str,
    kind: str,
    step_sql: str,
    variant_sql: str,
    due_sql: str,
    due_params: Sequence[Any],
    where: str,
    where_params: Sequence[Any],
    now: dt.datetime,
    rules: Sequence[Rule] = (),
    cap: int | None = None,
    queue: bool = False,
    channel: str = Channel.EMAIL,
) -> SendBatch:
    """One ``INSERT … SELECT`` of sends for the enrollments ``where`` selects (alias ``e``,
    learner ``l``, manager ``m``).

    Each send starts in its final state, so the pass never rewrites rows it just wrote:
    ``skipped`` with the reason, ``scheduled`` at a later time (quiet hours, sending days,
    ``rules``) or over the weekly ``cap``, else ``queued`` (with ``queue``) and stamped as
    handed to delivery — or ``scheduled`` for :func:`release_due_sends` to decide.

    ``channel`` is the step's: each send goes on it where its recipient has an address there
    (see :data:`REACH`), else by email, decided in the same statement.
    """
    channel_sql, address_sql, channel_join = _channel_columns(reach_of(channel, audience))
    skips = learner_skips(channel_sql, now) if audience == Audience.LEARNER else manager_skips(now)
    all_rules = [*skips, *rules, *([capped_rule(cap)] if cap is not None else [])]
    columns, column_params = _decided_columns(
        all_rules, queue=queue, due_sql=due_sql, due_params=due_params, now=now
    )
    status_sql, skip_sql, postponed_sql, due_case_sql, enqueued_sql = columns
    to_email = "l.email" if audience == Audience.LEARNER else "COALESCE(m.email, '')"
    # A learner email needs no manager row; leaving it out saves a foreign-key check per row.
    manager_sql = "NULL" if audience == Audience.LEARNER else "l.manager_id"
    capped_sql, capped_params = _cap_join(cap, now=now)
    sql = f"""
        INSERT INTO {SEND}
            (enrollment_id, campaign_id, step_id, variant_id, kind, audience, learner_id,
             manager_id, channel, to_email, to_address, status, skip_reason, postponed_reason,
             due_at, enqueued_at, attempts, last_error, created_at, subject, destination_url,
             message_id, esp_message_id, click_count)
        SELECT e.id, e.campaign_id, {step_sql}, {variant_sql}, %s, %s, e.learner_id,
               {manager_sql}, {channel_sql}, {to_email}, {address_sql}, {status_sql},
               {skip_sql}, {postponed_sql}, {due_case_sql}, {enqueued_sql}, 0, '', %s, '', '',
               '', '', 0
        FROM {ENROLLMENT} e
        JOIN {LEARNER} l ON l.id = e.learner_id
        LEFT JOIN {MANAGER} m ON m.id = l.manager_id
        {channel_join}
        {capped_sql}
        WHERE {where}
        ON CONFLICT DO NOTHING
        RETURNING id, status, postponed_reason
    """  # noqa: S608 (table names, integers and ORM-compiled SQL only)
    params = [
        kind,
        audience,
        *column_params,
        connection.ops.adapt_datetimefield_value(now),
        *capped_params,
        *where_params,
    ]
    with transaction.atomic(), connection.cursor() as cursor, without_nested_loops(cursor):
        cursor.execute(sql, params)
        return _counted(cursor.fetchall(), queue=queue)


def _counted(rows: Sequence[tuple[int, str, str]], *, queue: bool) -> SendBatch:
    """What the ``RETURNING id, status, postponed_reason`` rows of an insert add up to."""
    batch = SendBatch()
    for send_id, status, postponed_reason in rows:
        batch.created += 1
        if status == Send.Status.SKIPPED:
            batch.skipped += 1
        elif status == Send.Status.QUEUED:
            batch.queued_ids.append(send_id)
        elif queue and postponed_reason != CAP_REASON:
            # Over-cap sends get their time from release_due_sends, which counts them.
            batch.postponed += 1
    return batch


def _decided_columns(
    rules: Sequence[Rule],
    *,
    queue: bool,
    due_sql: str,
    due_params: Sequence[Any],
    now: dt.datetime,
) -> tuple[list[str], list[Any]]:
    """The columns ``rules`` decide, as SQL in the order status, skip_reason, postponed_reason,
    due_at, enqueued_at, and their parameters in the same order."""
    adapt = connection.ops.adapt_datetimefield_value
    default_status = Send.Status.QUEUED if queue else Send.Status.SCHEDULED

    def due_of(rule: Rule) -> tuple[str, list[Any]]:
        return (due_sql, list(due_params)) if rule.due_at is None else ("%s", [adapt(rule.due_at)])

    parts = [
        case_sql(rules, lambda r: ("%s", [r.status]), "%s", [default_status]),
        case_sql(rules, lambda r: ("%s", [r.skip_reason]), "''", []),
        case_sql(rules, lambda r: ("%s", [r.postponed_reason]), "''", []),
        case_sql(
            rules,
            lambda r: (
                (due_sql, list(due_params)) if r.due_at is None else ("%s", [adapt(r.due_at)])
            ),
            due_sql,
            list(due_params),
        ),
        # Queued now means handed to delivery now; anything a rule holds back is not.
        case_sql(rules, lambda r: ("NULL", []), "%s", [adapt(now)]) if queue else ("NULL", []),
    ]
    return [sql for sql, _ in parts], [param for _, params in parts for param in params]


def _cap_join(cap: int | None, *, now: dt.datetime) -> tuple[str, list[Any]]:
    """A join that counts the emails of the last 7 days of learners who have any ("" without
    a cap); the rule compares the count with the campaign's cap or the learner's own, lower
    one.

    Evaluated once for the statement (an aggregate, hash-joined), never per learner.
    """
    if cap is None:
        return "", []
    # A weekly digest to a manager who is a learner too counts toward their cap.
    sql = f"""
        LEFT JOIN (
            SELECT learner_id, COUNT(*) AS sent FROM (
                SELECT learner_id FROM {SEND}
                WHERE audience = %s AND status IN (%s, %s, %s, %s)
                  AND COALESCE(sent_at, claimed_at, due_at) > %s
                UNION ALL
                SELECT dm.learner_id FROM {DIGEST} d JOIN {MANAGER} dm ON dm.id = d.manager_id
                WHERE dm.learner_id IS NOT NULL AND d.status IN (%s, %s, %s, %s)
                  AND COALESCE(d.sent_at, d.claimed_at, d.due_at) > %s
            ) recent
            GROUP BY learner_id
        ) capped ON capped.learner_id = e.learner_id
    """  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    since = adapt(now - CAP_WINDOW)
    return sql, [Audience.LEARNER, *IN_FLIGHT_OR_SENT, since, *IN_FLIGHT_OR_SENT, since]


def _audiences(audience: str) -> list[str]:
    if audience == Audience.BOTH:
        return [Audience.LEARNER, Audience.MANAGER]
    return [audience]


def _zone_rules(
    *, campaign: Campaign, where: str, where_params: Sequence[Any], now: dt.datetime
) -> list[Rule]:
    """Quiet hours and sending days for the learners ``where`` selects: one query for their
    distinct time zones, the decision per zone in Python (DST-aware), one rule per zone that
    must wait."""
    sql = f"""
        SELECT DISTINCT l.time_zone FROM {ENROLLMENT} e
        JOIN {LEARNER} l ON l.id = e.learner_id WHERE {where}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, list(where_params))
        zones = sorted(row[0] for row in cursor.fetchall())
    window = windows.window_for(
        quiet_start=campaign.quiet_hours_start,
        quiet_end=campaign.quiet_hours_end,
        weekdays=campaign.weekday_list,
    )
    rules = []
    for zone in zones:
        decision = windows.decide(now=now, time_zone=zone, window=window)
        if not decision.allowed:
            rules.append(
                Rule(
                    "l.time_zone = %s",
                    (zone,),
                    Send.Status.SCHEDULED,
                    postponed_reason=decision.reason,
                    due_at=decision.next_allowed,
                )
            )
    return rules


def create_step_sends(
    *,
    campaign: Campaign,
    step: Step,
    where: str,
    where_params: Sequence[Any],
    due_sql: str,
    now: dt.datetime,
) -> SendBatch:
    """The sends of ``step`` for the enrollments ``where`` selects, one ``INSERT`` per audience,
    each starting queued or postponed (see :func:`insert_sends`)."""
    zones = _zone_rules(campaign=campaign, where=where, where_params=where_params, now=now)
    batch = SendBatch()
    for audience in _audiences(step.audience):
        batch.add(
            insert_sends(
                audience=audience,
                kind=Send.Kind.STEP,
                step_sql=str(int(step.pk)),
                variant_sql=variant_case_sql("e.learner_id", step),
                due_sql=due_sql,
                due_params=[],
                where=where,
                where_params=where_params,
                now=now,
                rules=zones,
                # Managers are a separate list: the cap protects the learner's inbox.
                cap=campaign.weekly_cap if audience == Audience.LEARNER else None,
                queue=True,
                channel=step.channel,
            )
        )
    return batch


def create_due_sends(*, campaign: Campaign, now: dt.datetime) -> SendBatch:
    """Create the sends of every step that is due, then advance each enrollment to its next
    step: per step, one ``INSERT … SELECT`` per audience and one ``UPDATE``.

    A learner who is now unsubscribed or suppressed (or whose manager opted out, or who has
    none) gets a ``skipped`` row with the reason, so staff can see why nothing went out; a send
    in quiet hours, on a day without sending or over the weekly cap starts ``scheduled`` for
    later. Each enrollment gets at most one step per pass: after downtime a learner catches up
    one step per pass rather than receiving the backlog at once.
    """
    steps = steps_of(campaign)
    due = Enrollment.objects.filter(
        campaign=campaign,
        status=Enrollment.Status.ACTIVE,
        is_holdout=False,
        next_step__isnull=False,
        next_due_at__lte=now,
    )
    positions = set(due.order_by().values_list("next_step", flat=True).distinct())
    batch = SendBatch()
    adapt = connection.ops.adapt_datetimefield_value
    for index, step in enumerate(steps):
        if step.position not in positions:
            continue
        batch.add(
            create_step_sends(
                campaign=campaign,
                step=step,
                where=(
                    "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout "
                    "AND e.next_step = %s AND e.next_due_at <= %s"
                ),
                where_params=[campaign.pk, Enrollment.Status.ACTIVE, step.position, adapt(now)],
                due_sql="e.next_due_at",
                now=now,
            )
        )
        following = steps[index + 1] if index + 1 < len(steps) else None
        _advance(due.filter(next_step=step.position), following, campaign)
    # A position with no step (deleted while learners were waiting for it) moves on.
    for position in positions - {s.position for s in steps}:
        if position is None:
            continue
        following = next((s for s in steps if s.position > position), None)
        _advance(due.filter(next_step=position), following, campaign)
    return batch


def _advance(enrollments: Any, following: Step | None, campaign: Campaign) -> None:
    if following is not None:
        enrollments.update(next_step=following.position, next_due_at=due_expression(following))
    else:
        # After the last step, next_due_at says when a learner who has not come back is sunset.
        enrollments.update(
            next_step=None,
            next_due_at=ExpressionWrapper(
                F("next_due_at") + dt.timedelta(days=campaign.sunset_after_days),
                output_field=DateTimeField(),
            ),
        )
