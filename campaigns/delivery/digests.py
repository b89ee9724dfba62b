"""Delivering the weekly team digests with the same steps as sends: claim the queued rows
(``SKIP LOCKED``), re-check that the manager may still be mailed, render, then mark
``sending`` by compare-and-set just before the ESP call and record the outcome
(:func:`campaigns.delivery.deliver.deliver_claimed`); a worker that died mid-call leaves the
digest ``sending`` for :func:`campaigns.delivery.record.reconcile_stale`.

A digest goes by email, as a Slack direct message where staff chose Slack and Slack knows the
manager (:mod:`campaigns.delivery.channels.slack`, which also sends one it does not know back
to email, as for nudges), or as a card in the team's Teams channel where staff chose Teams and
all the manager's reports are in one team with a channel.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet

from campaigns.content import chat, emails, links, sms
from campaigns.delivery.claim import Claimed, header_problem, textable
from campaigns.delivery.deliver import deliver_claimed
from campaigns.delivery.outcomes import DeliveryResult, describe
from campaigns.engine.digests import CAME_BACK_WITHIN
from campaigns.models import (
    Audience,
    Channel,
    DigestSettings,
    Enrollment,
    ManagerDigest,
    Send,
)
from campaigns.models.outbox import MANAGER_PAUSED_REASON
from learners.models import CourseProgress

logger = logging.getLogger(__name__)


def claimable_digests(now: dt.datetime) -> QuerySet[ManagerDigest]:
    # A digest is due from its creation; one put back with a back-off, or held for as long as
    # a provider asked, waits for its due time unless a pass handed it over again.
    return ManagerDigest.objects.filter(
        Q(enqueued_at__isnull=False) | Q(due_at__lte=now),
        status=ManagerDigest.Status.QUEUED,
    )


def _skip_reason(digest: ManagerDigest, now: dt.datetime) -> str:
    manager = digest.manager
    if manager.nudges_opted_out_at or manager.digests_opted_out_at:
        return "manager opted out"
    # A pause from the manager's preferences holds every message to them: that week's digest
    # is skipped, not sent late.
    if manager.messages_paused_until and manager.messages_paused_until > now:
        return MANAGER_PAUSED_REASON
    if not digest.to_email:
        return "no address"
    return ""


def reports_for(
    digests: Sequence[ManagerDigest], now: dt.datetime
) -> dict[int, list[emails.DigestReport]]:
    """Each manager's reports to show, in three queries for the whole batch: enrollments in an
    active campaign (holdout left out: a nudge through the manager would treat them) or ended
    by a return within the last week; their course progress; the learner emails sent in them."""
    enrollments = list(
        Enrollment.objects.filter(
            Q(status=Enrollment.Status.ACTIVE)
            | Q(status=Enrollment.Status.REACTIVATED, reactivated_at__gt=now - CAME_BACK_WITHIN),
            learner__manager_id__in={d.manager_id for d in digests},
            is_holdout=False,
        )
        .select_related("learner", "course", "campaign")
        .order_by("learner__last_name", "learner__first_name", "learner_id", "-enrolled_at")
    )
    pairs = {(e.learner_id, e.course_id) for e in enrollments if e.course_id}
    progress = {
        (p.learner_id, p.course_id): p
        for p in CourseProgress.objects.filter(
            learner_id__in={learner for learner, _ in pairs},
            course_id__in={course for _, course in pairs},
        )
    }
    sent = {
        row["enrollment_id"]: row
        for row in Send.objects.filter(
            enrollment_id__in=[e.pk for e in enrollments],
            audience=Audience.LEARNER,
            status=Send.Status.SENT,
        )
        .order_by()
        .values("enrollment_id")
        .annotate(n=Count("pk"), last=Max("sent_at"))
    }
    by_manager: dict[int, list[emails.DigestReport]] = defaultdict(list)
    seen: set[int] = set()
    for enrollment in enrollments:
        # One row per person: their most recent enrollment that qualifies.
        if enrollment.learner_id in seen:
            continue
        seen.add(enrollment.learner_id)
        counts = sent.get(enrollment.pk, {})
        manager_id = enrollment.learner.manager_id
        assert manager_id is not None
        by_manager[manager_id].append(
            emails.DigestReport(
                enrollment=enrollment,
                progress=progress.get((enrollment.learner_id, enrollment.course_id or 0)),
                sent=int(counts.get("n", 0)),
                last_sent_at=counts.get("last"),
            )
        )
    return by_manager


def _build(
    digest: ManagerDigest,
    reports: list[emails.DigestReport],
    *,
    config: DigestSettings,
    now: dt.datetime,
) -> Claimed:
    """The digest's message on its channel: a Slack DM, a Teams card, a text message with a
    link to the digest's page, or the email (also for a digest too large for one Slack message
    or Teams card, and for a manager who withdrew SMS consent since the pass)."""
    content = emails.digest_content(digest=digest, reports=reports, config=config, now=now)
    digest.subject = str(content.values["subject"])[:300]
    manager = digest.manager
    if digest.channel == Channel.SMS and not textable(manager):
        digest.channel, digest.to_address = Channel.EMAIL, ""
        digest.postponed_reason = "by email: no SMS consent any more"
    try:
        if digest.channel == Channel.SMS:
            # The number on file now: a manager who changed it since the pass gets it there.
            digest.to_address = manager.phone
            text = sms.render_digest_sms(
                values=content.values,
                manager_first_name=manager.name.split(" ")[0],
                link=links.digest_page_url(digest_id=digest.pk),
            )
            return Claimed(digest, sms=text)
        if digest.channel == Channel.SLACK:
            return Claimed(digest, slack=chat.slack_digest(content))
        if digest.channel == Channel.TEAMS:
            return Claimed(digest, teams=chat.teams_digest(content))
    except chat.DigestTooLarge as exc:
        digest.channel, digest.to_address = Channel.EMAIL, ""
        digest.postponed_reason = f"by email: {exc}"[:200]
    rendered = emails.render_digest(digest=digest, content=content, config=config)
    digest.message_id = rendered.headers.get("Message-ID", "")[:300]
    return Claimed(digest, message=rendered.as_message())


def claim_digests(
    digest_ids: Sequence[int], now: dt.datetime, result: DeliveryResult
) -> list[Claimed]:
    """Lock the still-queued digests, re-check and render them; returns those ready to go.
    Skipped (opted out, nothing left to report) and failed (cannot be built) ones are written
    here; the ready ones stay ``queued`` until marked ``sending`` just before the ESP call."""
    with transaction.atomic():
        ids = list(
            claimable_digests(now)
            .filter(pk__in=list(digest_ids))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        digests = list(
            ManagerDigest.objects.filter(pk__in=ids).select_related("manager").order_by("pk")
        )
        result.claimed += len(digests)
        config = DigestSettings.current()
        reports = reports_for(digests, now)
        skips: dict[str, list[int]] = defaultdict(list)
        failures: dict[str, list[int]] = defaultdict(list)
        ready: list[Claimed] = []
        for digest in digests:
            reason = _skip_reason(digest, now) or (
                "" if reports.get(digest.manager_id) else "nothing to report"
            )
            if reason:
                skips[reason].append(digest.pk)
                continue
            try:
                claimed = _build(digest, reports[digest.manager_id], config=config, now=now)
            except Exception as exc:
                logger.exception("digest %s could not be rendered", digest.pk)
                failures[f"could not be rendered: {describe(exc)}"].append(digest.pk)
                continue
            problem = header_problem(claimed.message) if claimed.message is not None else ""
            if problem:
                failures[problem].append(digest.pk)
                continue
            ready.append(claimed)
        for reason, pks in skips.items():
            result.skipped += ManagerDigest.objects.filter(pk__in=pks).update(
                status=ManagerDigest.Status.SKIPPED, skip_reason=reason
            )
        for reason, pks in failures.items():
            result.failed += ManagerDigest.objects.filter(pk__in=pks).update(
                status=ManagerDigest.Status.FAILED, last_error=reason
            )
    return ready


def deliver_digests(*, digest_ids: Sequence[int], now: dt.datetime) -> DeliveryResult:
    """Deliver those of ``digest_ids`` that are still queued; rows another worker holds are
    left to it."""
    result = DeliveryResult()
    claimed = claim_digests(digest_ids, now, result)
    if claimed:
        deliver_claimed(claimed, now=now, result=result)
    return result


def deliver_queued_digests(*, now: dt.datetime) -> DeliveryResult:
    """Deliver every queued digest that is due, batch by batch, in this process (for
    ``run_pass --deliver``)."""
    result = DeliveryResult()
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    while True:
        ids = list(
            claimable_digests(now).order_by("due_at", "pk").values_list("pk", flat=True)[:size]
        )
        if not ids:
            break
        batch = deliver_digests(digest_ids=ids, now=now)
        result.add(batch)
        if batch.claimed == 0 or batch.claimed == batch.retried:
            break  # held by other workers, or the providers refuse everything for now
    return result
