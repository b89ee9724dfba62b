"""The evaluation pass: who joins a campaign, who leaves it, and which sends are due.

Every function takes ``now`` and works on sets of rows: an ``INSERT … SELECT`` or an ``UPDATE``
per campaign, step, audience or time zone, never a query per learner. The number of queries of
a pass depends on how many campaigns, steps, variants and time zones there are, not on how many
learners. Unique constraints on enrollments and sends (``ON CONFLICT DO NOTHING``) make a
repeated pass at the same moment harmless; the pass lock keeps two from running at once.

Drip timing lives in rows: ``Enrollment.next_step``/``next_due_at`` say which step comes next
and when; a send is created ``scheduled`` with the step's due time, and
:func:`release_due_sends` moves it to ``queued`` once quiet hours, sending days and the weekly
cap allow, or moves its ``due_at`` to the next allowed moment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import LessThan

from campaigns.engine import planner_stats
from campaigns.engine import windows as scheduling
from campaigns.engine.segments import focus_course_subquery, segment_learners
from campaigns.models import Audience, Campaign, Enrollment, PassLock, Send, Step, Variant
from learners.models import Learner

logger = logging.getLogger(__name__)

PASS_LOCK_NAME = "evaluation-pass"  # noqa: S105 (a row name, not a secret)
# A queued send handed to a delivery task that has not been claimed after this long is
# handed over again: its task was lost (flushed broker, crashed publisher). Delivery claims
# rows, so a duplicate task costs nothing.
REENQUEUE_AFTER = dt.timedelta(minutes=15)
# A send left "sending" this long belongs to a worker that died mid-call.
STALE_SENDING_AFTER = dt.timedelta(minutes=15)
# The frequency cap looks back this far.
CAP_WINDOW = dt.timedelta(days=7)

PENDING = (Send.Status.SCHEDULED, Send.Status.QUEUED)
# Sends that count toward the weekly cap: out, or on their way out.
IN_FLIGHT_OR_SENT = (
    Send.Status.QUEUED,
    Send.Status.SENDING,
    Send.Status.SENT,
    Send.Status.UNCONFIRMED,
)

ENROLLMENT = Enrollment._meta.db_table
SEND = Send._meta.db_table
LEARNER = Learner._meta.db_table
MANAGER = Learner._meta.get_field("manager").related_model._meta.db_table  # type: ignore[union-attr]


@dataclass
class PassResult:
    """What one pass did, in counts."""

    enrolled: int = 0
    holdout: int = 0
    reactivated: int = 0
    sends_created: int = 0
    skipped: int = 0
    postponed: int = 0
    queued: int = 0
    sunset: int = 0
    unconfirmed: int = 0
    skipped_locked: bool = False


@dataclass(frozen=True)
class EnrollResult:
    enrolled: int
    holdout: int
    # The first step's sends, when it is due at once.
    sends: SendBatch = field(default_factory=lambda: SendBatch())


@dataclass(frozen=True)
class ExitResult:
    """Enrollments ended, and the milestone or hand-off sends created for them."""

    ended: int
    sends_created: int = 0
    skipped: int = 0


@dataclass
class ReleaseResult:
    queued: int = 0
    postponed: int = 0
    skipped: int = 0
    # Sends to hand to delivery now (only when asked to hand over).
    send_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Arm:
    """One variant of a step (or the step itself) with its share of the bucket range."""

    variant_id: int | None
    cutoff: int
    delay: dt.timedelta


def _steps(campaign: Campaign) -> list[Step]:
    return list(
        Step.objects.filter(campaign=campaign)
        .order_by("position")
        .prefetch_related(Prefetch("variants", queryset=Variant.objects.order_by("label", "pk")))
    )


def _arms(step: Step) -> tuple[int, list[_Arm]]:
    """The step's variants as cumulative bucket ranges: (modulus, arms)."""
    variants = list(step.variants.all())
    if not variants:
        return 1, [_Arm(None, 1, step.delay)]
    # All weights zero means "no preference", not "nobody gets it".
    weights = (
        [v.weight for v in variants] if any(v.weight for v in variants) else [1] * len(variants)
    )
    arms: list[_Arm] = []
    total = 0
    for variant, weight in zip(variants, weights, strict=True):
        if weight <= 0:
            continue
        total += weight
        delay = step.delay
        if variant.delay_days is not None or variant.delay_hours is not None:
            delay = dt.timedelta(
                days=step.delay_days if variant.delay_days is None else variant.delay_days,
                hours=step.delay_hours if variant.delay_hours is None else variant.delay_hours,
            )
        arms.append(_Arm(variant.pk, total, delay))
    return total, arms


def _variant_bucket(column: str, step: Step, modulus: int) -> str:
    return scheduling.bucket_sql(column, purpose=scheduling.VARIANT, salt=step.pk, modulus=modulus)


def _variant_case_sql(column: str, step: Step) -> str:
    """SQL choosing the learner's variant id (or NULL) for ``step``."""
    modulus, arms = _arms(step)
    if arms[0].variant_id is None:
        return "NULL"
    bucket = _variant_bucket(column, step, modulus)
    whens = " ".join(f"WHEN {bucket} < {arm.cutoff} THEN {arm.variant_id}" for arm in arms[:-1])
    last = arms[-1].variant_id
    return f"CASE {whens} ELSE {last} END" if whens else str(last)


def _due_case_sql(column: str, step: Step, base: dt.datetime) -> tuple[str, list[Any]]:
    """SQL for when ``step`` is due for a learner enrolled at ``base`` (variants may differ)."""
    modulus, arms = _arms(step)
    adapt = connection.ops.adapt_datetimefield_value
    if len({arm.delay for arm in arms}) == 1:
        return "%s", [adapt(base + arms[0].delay)]
    bucket = _variant_bucket(column, step, modulus)
    whens = " ".join(f"WHEN {bucket} < {arm.cutoff} THEN %s" for arm in arms[:-1])
    params = [adapt(base + arm.delay) for arm in arms]
    return f"CASE {whens} ELSE %s END", params


def _due_expression(step: Step) -> Combinable:
    """ORM expression: when ``step`` is due for each enrollment (from its ``enrolled_at``)."""
    modulus, arms = _arms(step)

    def at(delay: dt.timedelta) -> ExpressionWrapper[Any]:
        return ExpressionWrapper(F("enrolled_at") + delay, output_field=DateTimeField())

    if len({arm.delay for arm in arms}) == 1:
        return at(arms[0].delay)
    bucket = RawSQL(  # noqa: S611 (only integers and a column name)
        _variant_bucket(f"{ENROLLMENT}.learner_id", step, modulus), [], output_field=IntegerField()
    )
    return Case(
        *[When(LessThan(bucket, arm.cutoff), then=at(arm.delay)) for arm in arms[:-1]],
        default=at(arms[-1].delay),
        output_field=DateTimeField(),
    )


def _execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _fetch_ids(sql: str, params: Sequence[Any]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def enroll_segment_members(*, campaign: Campaign, now: dt.datetime) -> EnrollResult:
    """Enroll the segment's members who are in no active enrollment and were never in this
    campaign, in one ``INSERT … SELECT``.

    The holdout is a hash of (learner, campaign), so it is stable and needs no random state.
    Holdout learners are enrolled with no next step: they get nothing, and are sunset at the
    same time as the treated learners would be, so both groups stay comparable.

    When the first step is due at once (day 0), its sends are created here too and the
    enrollments start at the second step: creating them at step 1 and advancing them a moment
    later would rewrite every new row in the same transaction, which on PostgreSQL also repeats
    every foreign-key check — the largest cost of a first pass.
    """
    steps = _steps(campaign)
    segment = campaign.segment
    members = (
        segment_learners(segment, now=now)
        .order_by()
        .annotate(focus_course=focus_course_subquery(segment))
        .values("id", "focus_course")
    )
    members_sql, members_params = members.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    holdout_bucket = scheduling.bucket_sql(
        "seg.id", purpose=scheduling.HOLDOUT, salt=campaign.pk, modulus=100
    )
    holdout = f"({holdout_bucket} < {int(campaign.holdout_percent)})"
    last_delay = max((_arms(s)[1][-1].delay for s in steps), default=dt.timedelta(0))
    holdout_end = now + last_delay + dt.timedelta(days=campaign.sunset_after_days)
    first_now = bool(steps) and all(arm.delay <= dt.timedelta(0) for arm in _arms(steps[0])[1])
    start = steps[1] if first_now and len(steps) > 1 else (None if first_now else steps[0])
    if start is not None:
        first_sql, first_params = _due_case_sql("seg.id", start, now)
        next_step_sql = f"CASE WHEN {holdout} THEN NULL ELSE {int(start.position)} END"
        next_due_sql = f"CASE WHEN {holdout} THEN %s ELSE {first_sql} END"
        next_due_params = [adapt(holdout_end), *first_params]
    else:
        # No steps, or a single step sent now: straight to the sunset wait.
        next_step_sql = "NULL"
        next_due_sql = "%s"
        next_due_params = [adapt(holdout_end)]
    sql = f"""
        INSERT INTO {ENROLLMENT}
            (campaign_id, learner_id, course_id, enrolled_at, is_holdout, status,
             next_step, next_due_at, exit_reason)
        SELECT %s, seg.id, seg.focus_course, %s, {holdout}, %s, {next_step_sql}, {next_due_sql}, ''
        FROM ({members_sql}) seg
        WHERE NOT EXISTS (
            SELECT 1 FROM {ENROLLMENT} e
            WHERE e.learner_id = seg.id AND (e.status = %s OR e.campaign_id = %s)
        )
        ON CONFLICT DO NOTHING
        RETURNING is_holdout
    """  # noqa: S608 (table names, integers and ORM-compiled SQL only)
    # The SELECT list comes before FROM, so its parameters come before the segment's.
    params = [
        campaign.pk,
        adapt(now),
        Enrollment.Status.ACTIVE,
        *next_due_params,
        *members_params,
        Enrollment.Status.ACTIVE,
        campaign.pk,
    ]
    enrolled = holdouts = 0
    with transaction.atomic(), connection.cursor() as cursor, _without_nested_loops(cursor):
        cursor.execute(sql, params)
        for (is_holdout,) in cursor.fetchall():
            enrolled += 1
            holdouts += bool(is_holdout)
    sends = SendBatch()
    if first_now and enrolled > holdouts:
        sends = _create_step_sends(
            campaign=campaign,
            step=steps[0],
            where=(
                "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout AND e.enrolled_at = %s"
            ),
            where_params=[campaign.pk, Enrollment.Status.ACTIVE, adapt(now)],
            due_sql="e.enrolled_at",
            now=now,
        )
    return EnrollResult(enrolled=enrolled, holdout=holdouts, sends=sends)


@contextlib.contextmanager
def _without_nested_loops(cursor: Any) -> Iterator[None]:
    """On PostgreSQL, keep the planner off nested loops for one statement.

    The enrollment INSERT reads the table it fills (NOT EXISTS). When the planner believes
    that table empty (the first pass, or statistics from before a bulk load) it picks a nested
    loop with a sequential scan of it per learner, and every scan grows with each inserted row:
    minutes instead of seconds at 200,000 new enrollments. A hash anti-join reads it once.
    """
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
    try:
        yield
    finally:
        cursor.execute("SELECT set_config('enable_nestloop', 'on', true)")


@dataclass(frozen=True)
class _Rule:
    """One branch of how a new send starts: the first rule whose condition holds decides its
    status (and why); a send no rule catches is ``queued`` (or ``scheduled``)."""

    condition: str
    params: tuple[Any, ...]
    status: str
    skip_reason: str = ""
    postponed_reason: str = ""
    # A new due time (quiet hours); None keeps the step's due time.
    due_at: dt.datetime | None = None


LEARNER_SKIPS = (
    _Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
    _Rule("l.suppressed_at IS NOT NULL", (), Send.Status.SKIPPED, "address suppressed"),
)
MANAGER_SKIPS = (
    _Rule("m.id IS NULL", (), Send.Status.SKIPPED, "learner has no manager"),
    _Rule("m.nudges_opted_out_at IS NOT NULL", (), Send.Status.SKIPPED, "manager opted out"),
    _Rule("l.unsubscribed_at IS NOT NULL", (), Send.Status.SKIPPED, "learner unsubscribed"),
)
CAPPED = _Rule(
    "capped.learner_id IS NOT NULL", (), Send.Status.SCHEDULED, postponed_reason="weekly cap"
)


@dataclass
class SendBatch:
    """Sends one or more ``INSERT … SELECT`` created."""

    created: int = 0
    skipped: int = 0
    postponed: int = 0
    queued_ids: list[int] = field(default_factory=list)

    def add(self, other: SendBatch) -> None:
        self.created += other.created
        self.skipped += other.skipped
        self.postponed += other.postponed
        self.queued_ids += other.queued_ids


def _case(
    rules: Sequence[_Rule], then: Any, default_sql: str, default_params: Sequence[Any]
) -> tuple[str, list[Any]]:
    """``CASE WHEN rule THEN … ELSE default END``; ``then(rule)`` gives each branch's
    (sql, params)."""
    sql, params = ["CASE"], []
    for rule in rules:
        branch_sql, branch_params = then(rule)
        sql.append(f"WHEN {rule.condition} THEN {branch_sql}")
        params += [*rule.params, *branch_params]
    sql.append(f"ELSE {default_sql} END")
    return " ".join(sql), [*params, *default_params]


def _insert_sends(
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
    rules: Sequence[_Rule] = (),
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
    adapt = connection.ops.adapt_datetimefield_value
    skips = LEARNER_SKIPS if audience == Audience.LEARNER else MANAGER_SKIPS
    all_rules = [*skips, *rules, *([CAPPED] if cap is not None else [])]
    default_status = Send.Status.QUEUED if queue else Send.Status.SCHEDULED
    status_sql, status_params = _case(
        all_rules, lambda r: ("%s", [r.status]), "%s", [default_status]
    )
    skip_sql, skip_params = _case(all_rules, lambda r: ("%s", [r.skip_reason]), "''", [])
    postponed_sql, postponed_params = _case(
        all_rules, lambda r: ("%s", [r.postponed_reason]), "''", []
    )
    due_case_sql, due_case_params = _case(
        all_rules,
        lambda r: (due_sql, list(due_params)) if r.due_at is None else ("%s", [adapt(r.due_at)]),
        due_sql,
        list(due_params),
    )
    if queue:
        enqueued_sql, enqueued_params = _case(all_rules, lambda r: ("NULL", []), "%s", [adapt(now)])
    else:
        enqueued_sql, enqueued_params = "NULL", []
    to_email = "l.email" if audience == Audience.LEARNER else "COALESCE(m.email, '')"
    # A learner email needs no manager row; leaving it out saves a foreign-key check per row.
    manager_sql = "NULL" if audience == Audience.LEARNER else "l.manager_id"
    capped_sql, capped_params = "", []
    if cap is not None:
        # Evaluated once for the statement (an aggregate, hash-joined), never per learner.
        capped_sql = f"""
            LEFT JOIN (
                SELECT learner_id FROM {SEND}
                WHERE audience = %s AND status IN (%s, %s, %s, %s)
                  AND COALESCE(sent_at, claimed_at, due_at) > %s
                GROUP BY learner_id HAVING COUNT(*) >= %s
            ) capped ON capped.learner_id = e.learner_id
        """  # noqa: S608
        capped_params = [
            Audience.LEARNER,
            *IN_FLIGHT_OR_SENT,
            adapt(now - CAP_WINDOW),
            int(cap),
        ]
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
        *status_params,
        *skip_params,
        *postponed_params,
        *due_case_params,
        *enqueued_params,
        adapt(now),
        *capped_params,
        *where_params,
    ]
    batch = SendBatch()
    with transaction.atomic(), connection.cursor() as cursor, _without_nested_loops(cursor):
        cursor.execute(sql, params)
        for send_id, status, postponed_reason in cursor.fetchall():
            batch.created += 1
            if status == Send.Status.SKIPPED:
                batch.skipped += 1
            elif status == Send.Status.QUEUED:
                batch.queued_ids.append(send_id)
            elif queue and postponed_reason != CAPPED.postponed_reason:
                # Over-cap sends get their time from release_due_sends, which counts them.
                batch.postponed += 1
    return batch


def _audiences(audience: str) -> list[str]:
    if audience == Audience.BOTH:
        return [Audience.LEARNER, Audience.MANAGER]
    return [audience]


def _zone_rules(
    *, campaign: Campaign, where: str, where_params: Sequence[Any], now: dt.datetime
) -> list[_Rule]:
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
    window = scheduling.window_for(
        quiet_start=campaign.quiet_hours_start,
        quiet_end=campaign.quiet_hours_end,
        weekdays=campaign.weekday_list,
    )
    rules = []
    for zone in zones:
        decision = scheduling.decide(now=now, time_zone=zone, window=window)
        if not decision.allowed:
            rules.append(
                _Rule(
                    "l.time_zone = %s",
                    (zone,),
                    Send.Status.SCHEDULED,
                    postponed_reason=decision.reason,
                    due_at=decision.next_allowed,
                )
            )
    return rules


def _create_step_sends(
    *,
    campaign: Campaign,
    step: Step,
    where: str,
    where_params: Sequence[Any],
    due_sql: str,
    now: dt.datetime,
) -> SendBatch:
    """The sends of ``step`` for the enrollments ``where`` selects, one ``INSERT`` per audience,
    each starting queued or postponed (see :func:`_insert_sends`)."""
    zones = _zone_rules(campaign=campaign, where=where, where_params=where_params, now=now)
    batch = SendBatch()
    for audience in _audiences(step.audience):
        batch.add(
            _insert_sends(
                audience=audience,
                kind=Send.Kind.STEP,
                step_sql=str(int(step.pk)),
                variant_sql=_variant_case_sql("e.learner_id", step),
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
    steps = _steps(campaign)
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
            _create_step_sends(
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
        enrollments.update(next_step=following.position, next_due_at=_due_expression(following))
    else:
        # After the last step, next_due_at says when a learner who has not come back is sunset.
        enrollments.update(
            next_step=None,
            next_due_at=ExpressionWrapper(
                F("next_due_at") + dt.timedelta(days=campaign.sunset_after_days),
                output_field=DateTimeField(),
            ),
        )


def end_reactivated(*, campaign: Campaign, now: dt.datetime) -> ExitResult:
    """End the enrollments of learners active since they enrolled (they came back).

    Their pending step sends are skipped and, if the campaign has one, a "welcome back"
    milestone send is created (not for the holdout, which gets nothing).
    """
    returned = Enrollment.objects.filter(
        campaign=campaign,
        status=Enrollment.Status.ACTIVE,
        learner__last_active_at__gt=F("enrolled_at"),
    )
    # Most passes find nobody: one look instead of three statements over every enrollment.
    if not returned.exists():
        return ExitResult(ended=0)
    welcome = SendBatch()
    if campaign.welcome_back_enabled:
        welcome = _insert_sends(
            audience=Audience.LEARNER,
            kind=Send.Kind.WELCOME_BACK,
            step_sql="NULL",
            variant_sql="NULL",
            due_sql="%s",
            due_params=[connection.ops.adapt_datetimefield_value(now)],
            where=(
                "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout "
                "AND l.last_active_at > e.enrolled_at"
            ),
            where_params=[campaign.pk, Enrollment.Status.ACTIVE],
            now=now,
        )
    Send.objects.filter(
        enrollment__in=returned.values("pk"), kind=Send.Kind.STEP, status__in=PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason="learner came back")
    ended = returned.update(
        status=Enrollment.Status.REACTIVATED,
        reactivated_at=Subquery(
            Learner.objects.filter(pk=OuterRef("learner_id")).values("last_active_at")[:1]
        ),
        ended_at=now,
        next_step=None,
        next_due_at=None,
        exit_reason="came back",
    )
    return ExitResult(ended=ended, sends_created=welcome.created, skipped=welcome.skipped)


def sunset_finished(*, campaign: Campaign, now: dt.datetime) -> ExitResult:
    """Sunset learners who got every step and stayed away for the sunset period: the
    enrollment ends, the learner is never enrolled again (``sunset_at``), and their manager gets
    a hand-off note (unless opted out; not for the holdout)."""
    finished = Enrollment.objects.filter(
        campaign=campaign,
        status=Enrollment.Status.ACTIVE,
        next_step__isnull=True,
        next_due_at__lte=now,
    )
    adapt = connection.ops.adapt_datetimefield_value
    handoffs = _insert_sends(
        audience=Audience.MANAGER,
        kind=Send.Kind.HANDOFF,
        step_sql="NULL",
        variant_sql="NULL",
        due_sql="%s",
        due_params=[adapt(now)],
        # Learners without a manager get no row: there is nobody to hand over to.
        where=(
            "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout "
            "AND e.next_step IS NULL AND e.next_due_at <= %s AND l.manager_id IS NOT NULL"
        ),
        where_params=[campaign.pk, Enrollment.Status.ACTIVE, adapt(now)],
        now=now,
    )
    Learner.objects.filter(pk__in=finished.values("learner_id"), sunset_at__isnull=True).update(
        sunset_at=now
    )
    ended = finished.update(
        status=Enrollment.Status.SUNSET,
        ended_at=now,
        next_due_at=None,
        exit_reason="no activity after the last step",
    )
    return ExitResult(ended=ended, sends_created=handoffs.created, skipped=handoffs.skipped)


def _skip_unreachable(*, now: dt.datetime) -> int:
    """Skip due sends whose recipient can no longer be mailed (unsubscribed, suppressed or
    opted out since the send was created)."""
    due = Send.objects.filter(status=Send.Status.SCHEDULED, due_at__lte=now)
    skipped = due.filter(audience=Audience.LEARNER, learner__unsubscribed_at__isnull=False).update(
        status=Send.Status.SKIPPED, skip_reason="learner unsubscribed"
    )
    skipped += due.filter(audience=Audience.LEARNER, learner__suppressed_at__isnull=False).update(
        status=Send.Status.SKIPPED, skip_reason="address suppressed"
    )
    skipped += due.filter(
        audience=Audience.MANAGER, manager__nudges_opted_out_at__isnull=False
    ).update(status=Send.Status.SKIPPED, skip_reason="manager opted out")
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
        window = scheduling.window_for(
            quiet_start=campaign.quiet_hours_start,
            quiet_end=campaign.quiet_hours_end,
            weekdays=campaign.weekday_list,
        )
        decision = scheduling.decide(now=now, time_zone=time_zone, window=window)
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
    queued_ids = _fetch_ids(
        f"UPDATE {SEND} SET status = %s, enqueued_at = %s WHERE id IN ({ready_sql}) RETURNING id",  # noqa: S608
        [Send.Status.QUEUED, adapt(now) if hand_over else None, *ready_params],
    )
    result.queued = len(queued_ids)
    if hand_over:
        result.send_ids = queued_ids
    return result


def _postpone_over_cap(candidates: Any, *, now: dt.datetime) -> int:
    """Postpone learner step sends whose learner already has ``weekly_cap`` emails out or on
    their way in the last 7 days (any campaign) until the oldest of those leaves the window."""
    counted = Send.objects.filter(
        learner_id=OuterRef("learner_id"),
        audience=Audience.LEARNER,
        status__in=IN_FLIGHT_OR_SENT,
    ).annotate(at=Coalesce("sent_at", "claimed_at", "due_at"))
    counted = counted.filter(at__gt=now - CAP_WINDOW)
    recent = Subquery(
        counted.order_by().values("learner_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )
    oldest = Subquery(
        counted.order_by().values("learner_id").annotate(first=Min("at")).values("first")[:1],
        output_field=DateTimeField(),
    )
    over = candidates.filter(audience=Audience.LEARNER, kind=Send.Kind.STEP).alias(
        recent=Coalesce(recent, 0)
    )
    return over.filter(recent__gte=F("campaign__weekly_cap")).update(
        due_at=Greatest(
            ExpressionWrapper(oldest + CAP_WINDOW, output_field=DateTimeField()),
            Value(now + dt.timedelta(minutes=1), output_field=DateTimeField()),
        ),
        postponed_reason="weekly cap",
    )


def hand_over_stale(*, now: dt.datetime) -> list[int]:
    """Queued, due sends no delivery task is known to hold (retries whose back-off has passed,
    tasks lost with the broker): stamp and return them to be handed to delivery again."""
    adapt = connection.ops.adapt_datetimefield_value
    return _fetch_ids(
        f"""
        UPDATE {SEND} SET enqueued_at = %s
        WHERE status = %s AND due_at <= %s AND (enqueued_at IS NULL OR enqueued_at < %s)
          AND campaign_id IN (SELECT id FROM {Campaign._meta.db_table} WHERE status = %s)
        RETURNING id
        """,  # noqa: S608
        [
            adapt(now),
            Send.Status.QUEUED,
            adapt(now),
            adapt(now - REENQUEUE_AFTER),
            Campaign.Status.ACTIVE,
        ],
    )


def _lock_pass(now: dt.datetime) -> PassLock | None:
    locked = PassLock.objects.select_for_update(skip_locked=True).filter(name=PASS_LOCK_NAME)
    return locked.first()


def run_pass(*, now: dt.datetime, enqueue: bool = True) -> PassResult:
    """One evaluation pass at ``now``, for each active campaign in priority order: end the
    enrollments of learners who came back, sunset those who finished, enroll new segment
    members, create due sends; then release what may go out now.

    Runs in one transaction holding the pass lock; a pass that finds the lock taken does
    nothing and says so (``skipped_locked``). With ``enqueue`` the queued sends are handed to
    delivery tasks, in chunks of ``DELIVERY_BATCH_SIZE``, once the transaction commits; a pass
    that wrote a large share of a table first refreshes its planner statistics
    (:mod:`campaigns.engine.planner_stats`).
    """
    # The lock row must exist before it can be locked; creating it is idempotent.
    PassLock.objects.bulk_create([PassLock(name=PASS_LOCK_NAME)], ignore_conflicts=True)
    result = PassResult()
    fresh_ids: list[int] = []
    with transaction.atomic():
        lock = _lock_pass(now)
        if lock is None:
            return PassResult(skipped_locked=True)
        from campaigns.delivery import deliver as delivery  # it imports the engine

        result.unconfirmed = delivery.reconcile_stale(now=now, older_than=STALE_SENDING_AFTER)
        for campaign in (
            Campaign.objects.filter(status=Campaign.Status.ACTIVE)
            .select_related("segment")
            .order_by("priority", "pk")
        ):
            for exits, stage in (
                (end_reactivated(campaign=campaign, now=now), "reactivated"),
                (sunset_finished(campaign=campaign, now=now), "sunset"),
            ):
                setattr(result, stage, getattr(result, stage) + exits.ended)
                result.sends_created += exits.sends_created
                result.skipped += exits.skipped
            enrolled = enroll_segment_members(campaign=campaign, now=now)
            result.enrolled += enrolled.enrolled
            result.holdout += enrolled.holdout
            created = create_due_sends(campaign=campaign, now=now)
            for made in (enrolled.sends, created):
                result.sends_created += made.created
                result.skipped += made.skipped
                result.postponed += made.postponed
                fresh_ids += made.queued_ids
        released = release_due_sends(now=now, hand_over=enqueue)
        result.skipped += released.skipped
        result.postponed += released.postponed
        result.queued = released.queued + len(fresh_ids)
        # Before delivery starts: its claims are planned with these statistics.
        written = {
            Enrollment: result.enrolled + result.reactivated + result.sunset,
            Send: result.sends_created + released.queued + released.postponed + result.skipped,
        }
        transaction.on_commit(lambda: planner_stats.refresh_after_bulk_write(written), robust=True)
        if enqueue:
            send_ids = fresh_ids + released.send_ids + hand_over_stale(now=now)
            transaction.on_commit(lambda: enqueue_delivery(send_ids))
        PassLock.objects.filter(pk=lock.pk).update(last_started_at=now, last_finished_at=now)
    logger.info("pass at %s: %s", now.isoformat(), result)
    return result


def enqueue_delivery(send_ids: Sequence[int]) -> int:
    """Hand send ids to delivery tasks in chunks; returns how many tasks were sent."""
    from campaigns.tasks import deliver_sends

    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    tasks = 0
    for start in range(0, len(send_ids), size):
        deliver_sends.delay(list(send_ids[start : start + size]))
        tasks += 1
    return tasks
