"""Awards: recording the incentives learners earned by coming back, giving discount codes
from the staff-imported pool, and queueing the pushes to the LMS.

All of it is set-based: one ``INSERT … SELECT`` per campaign records every award of the
learners who came back, and codes are handed out per incentive, not per learner. Unique
constraints (one award per enrollment and incentive, one award per code) make a pass run
twice harmless; codes are locked with ``SKIP LOCKED``, so two passes never give the same one.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction

from campaigns.engine.sql import ENROLLMENT, LEARNER, SEND, execute
from campaigns.models import Award, AwardPush, Campaign, DiscountCode, Enrollment, Incentive, Send
from campaigns.models import Step as StepModel

AWARD = Award._meta.db_table
INCENTIVE = Incentive._meta.db_table
STEP = StepModel._meta.db_table
# Codes written per statement: five parameters each, under SQLite's limit.
CODE_BATCH = 200


def _expiry_sql() -> str:
    """SQL: the incentive's expiry, counted in days after the email was sent."""
    if connection.vendor == "postgresql":
        return "s.sent_at + make_interval(days => i.expires_in_days)"
    return "datetime(s.sent_at, '+' || i.expires_in_days || ' days')"


def record_awards(*, campaign: Campaign, now: dt.datetime) -> int:
    """Record an award for every incentive promised by an email a learner was sent before
    they came back, for the learners of ``campaign`` whose return the pass is about to record
    (active enrollments, active since enrolling). One statement; returns how many were new."""
    adapt = connection.ops.adapt_datetimefield_value
    # The WHERE before ON CONFLICT is SQLite's: it cannot otherwise tell the clause apart.
    return execute(
        f"""INSERT INTO {AWARD} (learner_id, enrollment_id, incentive_id, send_id, kind, title,
            value, code, returned_at, awarded_at, expires_at)
        SELECT e.learner_id, e.id, i.id, s.id, i.kind, i.title, i.value, '', l.last_active_at,
            %s, CASE WHEN i.expires_in_days IS NULL THEN NULL ELSE {_expiry_sql()} END
        FROM (
            SELECT s.enrollment_id, st.incentive_id, MIN(s.id) AS send_id
            FROM {SEND} s
            JOIN {STEP} st ON st.id = s.step_id
            JOIN {ENROLLMENT} e ON e.id = s.enrollment_id
            JOIN {LEARNER} l ON l.id = e.learner_id
            WHERE e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout
              AND l.last_active_at > e.enrolled_at
              AND s.kind = %s AND s.audience = 'learner' AND st.incentive_id IS NOT NULL
              AND s.sent_at IS NOT NULL AND s.sent_at < l.last_active_at
            GROUP BY s.enrollment_id, st.incentive_id
        ) c
        JOIN {SEND} s ON s.id = c.send_id
        JOIN {ENROLLMENT} e ON e.id = c.enrollment_id
        JOIN {LEARNER} l ON l.id = e.learner_id
        JOIN {INCENTIVE} i ON i.id = c.incentive_id
        WHERE 1 = 1
        ON CONFLICT DO NOTHING""",  # noqa: S608 (table names from the models only)
        [adapt(now), campaign.pk, Enrollment.Status.ACTIVE, Send.Kind.STEP],
    )


def assign_codes(*, now: dt.datetime) -> int:
    """Give each discount award still without a code the next free code of its incentive's
    pool. Codes and awards are locked with ``SKIP LOCKED`` and a code is written only while
    still free, so two passes at once never give one code twice; awards left without a code
    (the pool ran out) get one once staff import more. A few queries per incentive."""
    waiting = Award.objects.filter(kind=Incentive.Kind.DISCOUNT_CODE, code="")
    incentive_ids = sorted(
        set(waiting.values_list("incentive_id", flat=True).order_by().distinct())
    )
    given = 0
    for incentive_id in incentive_ids:
        with transaction.atomic():
            given += _assign_pool(incentive_id)
    return given


def _assign_pool(incentive_id: int) -> int:
    """One incentive's waiting awards paired with its free codes, both locked."""
    awards = list(
        Award.objects.filter(incentive_id=incentive_id, kind=Incentive.Kind.DISCOUNT_CODE, code="")
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    codes = list(
        DiscountCode.objects.filter(incentive_id=incentive_id, award__isnull=True)
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", flat=True)[: len(awards)]
    )
    pairs = list(zip(awards, codes, strict=False))
    given = 0
    for start in range(0, len(pairs), CODE_BATCH):
        given += _write_codes(pairs[start : start + CODE_BATCH])
    return given


def _write_codes(pairs: list[tuple[int, int]]) -> int:
    """Two statements for a batch: each code names its award (only while still free), then
    each award copies the code that names it."""
    case = " ".join("WHEN %s THEN %s" for _ in pairs)
    marks = ", ".join("%s" for _ in pairs)
    code_table = DiscountCode._meta.db_table
    written = execute(
        f"UPDATE {code_table} SET award_id = CASE id {case} END "  # noqa: S608
        f"WHERE id IN ({marks}) AND award_id IS NULL",
        [*(p for award, code in pairs for p in (code, award)), *(code for _a, code in pairs)],
    )
    execute(
        f"UPDATE {AWARD} SET code = (SELECT c.code FROM {code_table} c "  # noqa: S608
        f"WHERE c.award_id = {AWARD}.id) WHERE id IN ({marks}) AND code = '' "
        f"AND EXISTS (SELECT 1 FROM {code_table} c WHERE c.award_id = {AWARD}.id)",
        [award for award, _c in pairs],
    )
    return written


def pushes_configured() -> bool:
    """Whether awards are pushed to an LMS (a webhook URL is set)."""
    return bool(settings.AWARD_WEBHOOK_URL)


def queue_pushes(*, now: dt.datetime) -> int:
    """An outbox row for every award ready to push (a discount award once it has its code)
    and not queued yet, when a webhook is configured. One statement."""
    if not pushes_configured():
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    push = AwardPush._meta.db_table
    return execute(
        f"""INSERT INTO {push} (award_id, status, attempts, next_attempt_at, response_status,
            last_error)
        SELECT a.id, %s, 0, %s, NULL, '' FROM {AWARD} a
        WHERE NOT (a.kind = %s AND a.code = '')
          AND NOT EXISTS (SELECT 1 FROM {push} p WHERE p.award_id = a.id)
        ON CONFLICT DO NOTHING""",  # noqa: S608 (table names from the models only)
        [AwardPush.Status.PENDING, adapt(now), Incentive.Kind.DISCOUNT_CODE],
    )


def due_pushes(*, now: dt.datetime) -> list[int]:
    """Pushes to hand to workers: due ones, and ones a worker claimed and never finished
    (it died after, or during, its HTTP call): they go again with the same idempotency key.
    At most ``AWARD_PUSH_BATCH`` a pass."""
    stale = now - dt.timedelta(seconds=settings.AWARD_PUSH_STALE_SECONDS)
    due = AwardPush.objects.filter(
        status=AwardPush.Status.PENDING, next_attempt_at__lte=now
    ) | AwardPush.objects.filter(status=AwardPush.Status.SENDING, claimed_at__lte=stale)
    return list(
        due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[
            : settings.AWARD_PUSH_BATCH
        ]
    )
