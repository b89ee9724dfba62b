"""Guardrails: a campaign that hurts the sender's reputation pauses itself.

- A sender's problem (a 5.7.x/4.7.x block: SPF, DKIM, DMARC, reputation, rate limits) raises an
  alert and suppresses nobody; SENDER_PROBLEM_PAUSE_AFTER of them within
  SENDER_PROBLEM_WINDOW_HOURS pause the campaign.
- Over the mail sent in the last GUARDRAIL_WINDOW_DAYS, once GUARDRAIL_MIN_VOLUME messages went
  out: complaints above COMPLAINT_RATE_WARN warn and above COMPLAINT_RATE_PAUSE pause (the
  bulk-sender rules: stay under 0.1%, never reach 0.3%); hard bounces above
  HARD_BOUNCE_RATE_PAUSE pause.

A pause shows on the campaign's page (its alerts) and is emailed to the approvers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q

from campaigns.building import services
from campaigns.content import staff
from campaigns.models import BounceClass, Campaign, DeliverabilityAlert, EspEvent, Send

logger = logging.getLogger(__name__)
Kind = DeliverabilityAlert.Kind


def approver_emails() -> list[str]:
    """Who may launch and pause campaigns (the "Campaign approvers" role, anyone given the
    permission, superusers), with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    perm = Q(codename="launch_campaign", content_type__app_label="campaigns")
    may_launch = (
        Q(is_superuser=True)
        | Q(user_permissions__in=_permissions(perm))
        | Q(groups__permissions__in=_permissions(perm))
    )
    return sorted(set(users.filter(may_launch).values_list("email", flat=True)))


def _permissions(condition: Q) -> list[int]:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(condition).values_list("pk", flat=True))


def pause_with_reason(*, campaign: Campaign, kind: str, message: str, now: dt.datetime) -> bool:
    """Pause an active campaign, record why, and email the approvers once it commits.
    False if the campaign was no longer active."""
    try:
        services.pause_campaign(campaign=campaign, now=now)
    except ValidationError:
        return False
    DeliverabilityAlert.objects.create(
        campaign=campaign,
        kind=kind,
        level=DeliverabilityAlert.Level.PAUSED,
        message=message,
        created_at=now,
    )
    recipients = approver_emails()
    label = Kind(kind).label
    logger.warning("campaign %s paused itself: %s", campaign.pk, message)
    if recipients:
        email = staff.campaign_paused(campaign=campaign, kind=label, message=message, to=recipients)
        transaction.on_commit(lambda: email.send(fail_silently=True))
    return True


def sender_problems(*, events: Sequence[EspEvent], now: dt.datetime) -> tuple[int, int]:
    """An alert for each sender-problem event; pause the campaigns where they repeat.
    Returns (alerts raised, campaigns paused)."""
    alerts = [
        DeliverabilityAlert(
            campaign_id=event.campaign_id,
            kind=Kind.SENDER_PROBLEM,
            message=(
                f"{event.esp} refused mail to {event.recipient.partition('@')[2] or 'a recipient'}"
                f" for a sender reason ({event.status_code or 'no code'}): {event.outcome}. "
                "Check SPF, DKIM and DMARC for the From domain and the sending IP's "
                "reputation. Nobody was suppressed."
            ),
            event=event,
            created_at=event.occurred_at,
        )
        for event in events
        if event.classification == BounceClass.SENDER
    ]
    if not alerts:
        return 0, 0
    DeliverabilityAlert.objects.bulk_create(alerts, ignore_conflicts=True)
    paused = 0
    window = dt.timedelta(hours=int(settings.SENDER_PROBLEM_WINDOW_HOURS))
    limit = int(settings.SENDER_PROBLEM_PAUSE_AFTER)
    for campaign in Campaign.objects.filter(
        pk__in={a.campaign_id for a in alerts if a.campaign_id}, status=Campaign.Status.ACTIVE
    ):
        latest = max(a.created_at for a in alerts if a.campaign_id == campaign.pk)
        count = DeliverabilityAlert.objects.filter(
            campaign=campaign, kind=Kind.SENDER_PROBLEM, created_at__gt=latest - window
        ).count()
        if count >= limit:
            message = (
                f"{count} sender-side refusals (authentication, policy or reputation) within "
                f"{window.total_seconds() / 3600:g} hours. Fix the sending setup before "
                "launching again; no learner was suppressed."
            )
            paused += pause_with_reason(
                campaign=campaign, kind=Kind.SENDER_PROBLEM, message=message, now=now
            )
    return len(alerts), paused


def _rates(campaign: Campaign, since: dt.datetime) -> tuple[int, int, int]:
    """(sent, complained, hard-bounced) over the campaign's mail sent since ``since``."""
    counts = Send.objects.filter(campaign=campaign, sent_at__gte=since).aggregate(
        sent=Count("pk"), complained=Count("pk", filter=Q(complained_at__isnull=False))
    )
    hard = (
        EspEvent.objects.filter(
            campaign=campaign,
            classification=BounceClass.RECIPIENT,
            send__sent_at__gte=since,
        )
        .values("send")
        .distinct()
        .count()
    )
    return counts["sent"], counts["complained"], hard


def _recently_warned(campaign: Campaign, kind: str, now: dt.datetime) -> bool:
    return DeliverabilityAlert.objects.filter(
        campaign=campaign, kind=kind, created_at__gt=now - dt.timedelta(days=1)
    ).exists()


def check_campaign(*, campaign: Campaign, now: dt.datetime) -> str:
    """Check one active campaign's rates; returns what was done ("paused", "warned", "")."""
    days = int(settings.GUARDRAIL_WINDOW_DAYS)
    sent, complained, hard = _rates(campaign, now - dt.timedelta(days=days))
    if sent < int(settings.GUARDRAIL_MIN_VOLUME):
        return ""
    complaint_rate, hard_rate = complained / sent, hard / sent
    where = f"of {sent} emails sent in the last {days} days"
    if complaint_rate >= float(settings.COMPLAINT_RATE_PAUSE):
        message = (
            f"Complaint rate {complaint_rate:.2%} ({complained} {where}) is at or above "
            f"{float(settings.COMPLAINT_RATE_PAUSE):.2%}."
        )
        return "paused" * pause_with_reason(
            campaign=campaign, kind=Kind.COMPLAINT_RATE, message=message, now=now
        )
    if hard_rate >= float(settings.HARD_BOUNCE_RATE_PAUSE):
        message = (
            f"Hard bounce rate {hard_rate:.2%} ({hard} {where}) is at or above "
            f"{float(settings.HARD_BOUNCE_RATE_PAUSE):.2%}. Check where the list came from."
        )
        return "paused" * pause_with_reason(
            campaign=campaign, kind=Kind.BOUNCE_RATE, message=message, now=now
        )
    if complaint_rate >= float(settings.COMPLAINT_RATE_WARN) and not _recently_warned(
        campaign, Kind.COMPLAINT_RATE, now
    ):
        DeliverabilityAlert.objects.create(
            campaign=campaign,
            kind=Kind.COMPLAINT_RATE,
            message=(
                f"Complaint rate {complaint_rate:.2%} ({complained} {where}) is above "
                f"{float(settings.COMPLAINT_RATE_WARN):.2%}; the campaign pauses itself at "
                f"{float(settings.COMPLAINT_RATE_PAUSE):.2%}."
            ),
            created_at=now,
        )
        return "warned"
    return ""


def check_rates(*, campaign_ids: Sequence[int], now: dt.datetime) -> int:
    """Check the active ones of ``campaign_ids``; returns how many paused."""
    paused = 0
    for campaign in Campaign.objects.filter(pk__in=campaign_ids, status=Campaign.Status.ACTIVE):
        paused += check_campaign(campaign=campaign, now=now) == "paused"
    return paused
