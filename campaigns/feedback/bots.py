"""Clicks and opens that a machine made: link scanners (Microsoft Safe Links, Proofpoint,
Mimecast, Barracuda …) follow every link of a message as it arrives, mail clients and privacy
proxies pre-fetch images. They are recorded but flagged, and left out of engagement."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings

SCANNER_AGENTS = re.compile(
    r"bot\b|crawler|spider|scanner|preview|headless|python-requests|python-urllib|curl/|"
    r"wget/|go-http-client|java/|okhttp|libwww|httpclient|barracuda|mimecast|proofpoint|"
    r"urldefense|safelinks|forcepoint|symantec|messagelabs|trend ?micro|sophos|fortinet|"
    r"zscaler|cisco|ironport|checkpoint|avast|kaspersky|msoffice|microsoft office|"
    r"ms-office|office protocol discovery|facebookexternalhit|slackbot|whatsapp|"
    r"linkedinbot|twitterbot|skypeuripreview|bingpreview|googlebot",
    re.IGNORECASE,
)


def scanner_reason(user_agent: str) -> str:
    """Why a user agent looks automated ("" when it looks like a person's browser, or says
    nothing: some privacy tools strip it)."""
    match = SCANNER_AGENTS.search(user_agent)
    return f"scanner user agent ({match.group(0).strip()})" if match else ""


def automated_click_reason(
    *, method: str, user_agent: str, at: dt.datetime, delivered_at: dt.datetime | None
) -> str:
    """Why a click on a tracked link looks automated ("" for a person's click): a HEAD
    request, a scanner's user agent, or a click within seconds of the message arriving."""
    if method.upper() == "HEAD":
        return "HEAD request"
    reason = scanner_reason(user_agent)
    if reason:
        return reason
    seconds = int(settings.BOT_CLICK_SECONDS)
    if delivered_at is not None and dt.timedelta(0) <= at - delivered_at < dt.timedelta(
        seconds=seconds
    ):
        return f"within {seconds} seconds of delivery"
    return ""
