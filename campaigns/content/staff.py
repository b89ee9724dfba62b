"""Emails to staff (not to learners): a campaign that paused itself."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from campaigns.content import links
from campaigns.models import Campaign


def campaign_paused(*, campaign: Campaign, kind: str, message: str, to: list[str]) -> EmailMessage:
    """Tell the approvers why ``campaign`` paused itself and where to look."""
    context = {
        "campaign_name": campaign.name,
        "kind": kind,
        "message": message,
        "campaign_url": links.absolute(f"/admin/campaigns/campaign/{campaign.pk}/change/"),
    }
    subject = " ".join(render_to_string("emails/campaign-paused-subject.txt", context).split())
    body = render_to_string("emails/campaign-paused-body.txt", context)
    return EmailMessage(
        subject=subject[:200], body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
