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

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from campaigns.engine import awards, planner_stats
from campaigns.engine.digests import create_due_digests, hand_over_stale_digests
from campaigns.engine.enroll import enroll_segment_members
from campaigns.engine.exits import end_reactivated, sunset_finished
from campaigns.engine.outcomes import record_outcomes
from campaigns.engine.release import hand_over_stale, release_due_sends
from campaigns.engine.results import PassResult
from campaigns.engine.sends import create_due_sends
from campaigns.models import Campaign, Enrollment, ManagerDigest, PassLock, Send

logger = logging.getLogger(__name__)

# Given the ids of the sends ready for delivery, once the pass has committed.
HandOver = Callable[[list[int]], object]

PASS_LOCK_NAME = "evaluation-pass"  # noqa: S105 (a row name, not a secret)


def _lock_pass(now: dt.datetime) -> PassLock | None:
    locked = PassLock.objects.select_for_update(skip_locked=True).filter(name=PASS_LOCK_NAME)
    return locked.first()


def run_pass(
    *,
    now: dt.datetime,
    hand_over: HandOver | None = None,
    hand_over_awards: HandOver | None = None,
    hand_over_digests: HandOver | None = None,
) -> PassResult:
    """One evaluation pass at ``now``, for each active campaign in priority order: end the
    enrollments of learners who came back, sunset those who finished, enroll new segment
    members, create due sends; then release what may go out now. Paused campaigns only let
    learners who came back go, so their outcome is recorded while the campaign waits.

    Holds the pass lock throughout; a pass that finds the lock taken does nothing and says so
    (``skipped_locked``). Each campaign runs in its own savepoint: an error in one is logged,
    recorded on the lock row and rolled back without undoing the others. With ``hand_over``
    (the Celery edge passes one that queues delivery tasks) the ids of the sends ready to go
    are given to it once the pass commits; the engine itself never sends and never talks to the
    broker. Awards of learners who came back get their discount codes and, where awards are
    pushed to the LMS, an outbox row; ``hand_over_awards`` is given the ids of the pushes due
    (new ones, retries, and ones a dead worker left) once the pass commits. The weekly team
    digests that are due are created after the campaigns (in a savepoint of their own) and
    their ids given to ``hand_over_digests``. A pass that wrote
    a large share of a table first refreshes its planner statistics
    (:mod:`campaigns.engine.planner_stats`).
    """
    # The lock row must exist before it can be locked; creating it is idempotent.
    PassLock.objects.bulk_create([PassLock(name=PASS_LOCK_NAME)], ignore_conflicts=True)
    # Wall-clock timing only, for the admin; every decision below is made at ``now``.
    wall_started, timer = timezone.now(), time.perf_counter()
    result = PassResult()
    fresh_ids: list[int] = []
    errors: list[str] = []
    with transaction.atomic():
        lock = _lock_pass(now)
        if lock is None:
            return PassResult(skipped_locked=True)
        for campaign in (
            Campaign.objects.filter(status__in=[Campaign.Status.ACTIVE, Campaign.Status.PAUSED])
            .select_related("segment")
            .order_by("priority", "pk")
        ):
            try:
                with transaction.atomic():
                    fresh_ids += _run_campaign(campaign=campaign, now=now, result=result)
            except Exception as exc:
                logger.exception("pass at %s: campaign %s failed", now.isoformat(), campaign.slug)
                errors.append(f"{campaign.slug}: {type(exc).__name__}: {exc}"[:1000])
        digest_ids: list[int] = []
        try:
            with transaction.atomic():
                digests = create_due_digests(now=now, queue=hand_over_digests is not None)
            result.digests_created = digests.created
            digest_ids = digests.digest_ids
        except Exception as exc:
            logger.exception("pass at %s: digests failed", now.isoformat())
            errors.append(f"digests: {type(exc).__name__}: {exc}"[:1000])
        result.codes_given = awards.assign_codes(now=now)
        awards.queue_pushes(now=now)
        if hand_over_awards is not None:
            pushes = awards.due_pushes(now=now)
            if pushes:
                transaction.on_commit(lambda: hand_over_awards(pushes))
        released = release_due_sends(now=now, hand_over=hand_over is not None)
        result.skipped += released.skipped
        result.postponed += released.postponed
        result.queued = released.queued + len(fresh_ids)
        # Before delivery starts: its claims are planned with these statistics.
        written = {
            Enrollment: result.enrolled + result.reactivated + result.sunset,
            Send: result.sends_created + released.queued + released.postponed + result.skipped,
            ManagerDigest: result.digests_created,
        }
        transaction.on_commit(lambda: planner_stats.refresh_after_bulk_write(written), robust=True)
        if hand_over is not None:
            ready = fresh_ids + released.send_ids + hand_over_stale(now=now)
            transaction.on_commit(lambda: hand_over(ready))
        if hand_over_digests is not None:
            ready_digests = digest_ids + hand_over_stale_digests(now=now)
            if ready_digests:
                transaction.on_commit(lambda: hand_over_digests(ready_digests))
        PassLock.objects.filter(pk=lock.pk).update(
            last_started_at=now,
            last_finished_at=now,
            wall_started_at=wall_started,
            wall_finished_at=timezone.now(),
            last_duration_ms=round((time.perf_counter() - timer) * 1000),
            last_errors="\n".join(errors),
        )
    result.failed_campaigns = len(errors)
    # Once the pass has committed (its new enrollments included), outside its transaction:
    # the recording briefly locks the activity events, which must not last as long as a pass.
    result.outcomes_recorded = record_outcomes(now=now).enrollments
    logger.info("pass at %s: %s", now.isoformat(), result)
    return result


def _run_campaign(*, campaign: Campaign, now: dt.datetime, result: PassResult) -> list[int]:
    """One campaign's part of a pass, added to ``result``; returns the sends queued at once."""
    exits = end_reactivated(campaign=campaign, now=now)
    result.reactivated += exits.ended
    result.awarded += exits.awarded
    result.sends_created += exits.sends_created
    result.skipped += exits.skipped
    if campaign.status != Campaign.Status.ACTIVE:
        return []
    exits = sunset_finished(campaign=campaign, now=now)
    result.sunset += exits.ended
    result.sends_created += exits.sends_created
    result.skipped += exits.skipped
    enrolled = enroll_segment_members(campaign=campaign, now=now)
    result.enrolled += enrolled.enrolled
    result.holdout += enrolled.holdout
    created = create_due_sends(campaign=campaign, now=now)
    queued: list[int] = []
    for made in (enrolled.sends, created):
        result.sends_created += made.created
        result.skipped += made.skipped
        result.postponed += made.postponed
        queued += made.queued_ids
    return queued
