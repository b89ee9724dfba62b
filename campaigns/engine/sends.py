"""Creating the sends that are due: one ``INSERT … SELECT`` per step and audience, each send
starting in its final state (queued, postponed or skipped with the reason)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
from campaigns.models import Audience, Campaign, Enrollment, Send, Step

LEARNER_SKIPS = (
    Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
    Rule("l.suppressed_at IS NOT NULL", (), Send.Status.SKIPPED, "address suppressed"),
)
MANAGER_SKIPS = (
    Rule("m.id IS NULL", (), Send.Status.SKIPPED, "learner has no manager"),
    Rule("m.nudges_opted_out_at IS NOT NULL", (), Send.Status.SKIPPED, "manager opted out"),
    Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
)
CAPPED = Rule(
    "capped.learner_id IS NOT NULL", (), Send.Status.SCHEDULED, postponed_reason="weekly cap"
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
) -> SendBatch:
    """One ``INSERT … SELECT`` of sends for the enrollments ``where`` selects (alias ``e``,
    learner ``l``, manager ``m``).

    Each send starts in its final state, so the pass never rewrites rows it just wrote:
    ``skipped`` with the reason, ``scheduled`` at a later time (quiet hours, sending days,
    ``rules``) or over the weekly ``cap``, else ``queued`` (with ``queue``) and stamped as
    handed to delivery — or ``scheduled`` for :func:`release_due_sends` to decide.
    """
    skips = LEARNER_SKIPS if audience == Audience.LEARNER else MANAGER_SKIPS
    all_rules = [*skips, *rules, *([CAPPED] if cap is not None else [])]
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
             manager_id, to_email, status, skip_reason, postponed_reason, due_at, enqueued_at,
             attempts, last_error, created_at, subject, destination_url, message_id,
             esp_message_id, click_count)
        SELECT e.id, e.campaign_id, {step_sql}, {variant_sql}, %s, %s, e.learner_id,
               {manager_sql}, {to_email}, {status_sql}, {skip_sql}, {postponed_sql},
               {due_case_sql}, {enqueued_sql}, 0, '', %s, '', '', '', '', 0
        FROM {ENROLLMENT} e
        JOIN {LEARNER} l ON l.id = e.learner_id
        LEFT JOIN {MANAGER} m ON m.id = l.manager_id
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
        elif queue and postponed_reason != CAPPED.postponed_reason:
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
    """A join that names the learners already at the weekly ``cap`` ("" without a cap).

    Evaluated once for the statement (an aggregate, hash-joined), never per learner.
    """
    if cap is None:
        return "", []
    # A weekly digest to a manager who is a learner too counts toward their cap.
    sql = f"""
        LEFT JOIN (
            SELECT learner_id FROM (
                SELECT learner_id FROM {SEND}
                WHERE audience = %s AND status IN (%s, %s, %s, %s)
                  AND COALESCE(sent_at, claimed_at, due_at) > %s
                UNION ALL
                SELECT dm.learner_id FROM {DIGEST} d JOIN {MANAGER} dm ON dm.id = d.manager_id
                WHERE dm.learner_id IS NOT NULL AND d.status IN (%s, %s, %s, %s)
                  AND COALESCE(d.sent_at, d.claimed_at, d.due_at) > %s
            ) recent
            GROUP BY learner_id HAVING COUNT(*) >= %s
        ) capped ON capped.learner_id = e.learner_id
    """  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    since = adapt(now - CAP_WINDOW)
    return sql, [
        Audience.LEARNER,
        *IN_FLIGHT_OR_SENT,
        since,
        *IN_FLIGHT_OR_SENT,
        since,
        int(cap),
    ]


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
