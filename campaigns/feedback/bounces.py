"""Whose problem is a bounce: the recipient's, a passing one, or the sender's.

ESPs label bounces inconsistently (some call every failure "hard", some report a permanent
failure as transient), so the decision comes from the SMTP enhanced status code (RFC 3463) and
the server's own words; the ESP's label is used only when neither says anything.

- recipient: the address is gone (no such user, mailbox disabled, domain does not exist):
  suppress at once;
- soft: mailbox full, try later: suppress only after repeats;
- sender: authentication (SPF/DKIM/DMARC), policy, reputation or rate limits — the 5.7.x and
  4.7.x families. Nothing is wrong with the recipient, so nobody is suppressed: one DNS mistake
  must not suppress every learner at a mailbox provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from campaigns.models import BounceClass

ENHANCED_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![.\d])")
BASIC_CODE = re.compile(r"(?<![\d.])([45]\d\d)(?![.\d])")

# The servers' own words, checked when the code alone does not decide (x.0.x, x.5.x, none).
SENDER_WORDS = re.compile(
    r"spf|dkim|dmarc|authenticat|reputation|block ?list|black ?list|spamhaus|barracuda|"
    r"spamcop|\bpolicy\b|rate limit|too many (messages|connections)|unsolicited|\bspam\b|"
    r"banned|\bip\b.*\blisted\b|not accepted from|poor reputation|sender (address )?rejected|"
    r"relay(ing)? (access )?denied",
    re.IGNORECASE,
)
RECIPIENT_WORDS = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient|domain)|does ?n[o']t exist|"
    r"not exist|mailbox (is )?unavailable|mailbox not found|invalid (recipient|mailbox|address)|"
    r"recipient (address )?rejected|unknown recipient|recipient not found|address rejected|"
    r"no mailbox|account (is |has been )?disabled|account (is )?inactive|mailbox inactive|"
    r"domain (name )?not found|host not found|nxdomain|invalid domain|bad destination|"
    r"does ?n[o']t have an? .{0,40}account|bounced address|address not found",
    re.IGNORECASE,
)
SOFT_WORDS = re.compile(
    r"mailbox (is )?full|over ?quota|quota exceeded|insufficient (system )?storage|"
    r"try again later|temporar|greylist|deferred|out of storage|storage full",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    """A classification with the code it rests on and the words that explain it."""

    kind: str
    code: str
    text: str


def _by_code(klass: int, subject: int, detail: int, text: str) -> str | None:
    """RFC 3463 subjects: 1 addressing, 2 mailbox, 3 mail system, 4 routing, 5 protocol,
    6 content, 7 security/policy. None means "the code does not decide"."""
    if subject in (6, 7):
        return BounceClass.SENDER
    if klass == 2:
        return BounceClass.SOFT
    if subject == 1:
        # x.1.7 / x.1.8: the *sender's* address is bad.
        if detail in (7, 8):
            return BounceClass.SENDER
        return BounceClass.RECIPIENT if klass == 5 else BounceClass.SOFT
    if subject == 2:
        if detail == 2:
            return BounceClass.SOFT  # mailbox full, whatever the class says
        if detail == 3:
            return BounceClass.SENDER  # our message is too long
        return BounceClass.RECIPIENT if klass == 5 else BounceClass.SOFT
    if subject == 3:
        return BounceClass.SENDER if detail == 4 else BounceClass.SOFT
    if subject == 4:
        # 5.4.1 is what Microsoft answers for an address its directory does not know;
        # 5.4.4 is a domain that does not route.
        if klass == 5 and detail in (1, 4):
            return BounceClass.RECIPIENT
        return BounceClass.SOFT
    return None


def _by_words(text: str) -> str | None:
    if SENDER_WORDS.search(text):
        return BounceClass.SENDER
    if RECIPIENT_WORDS.search(text):
        return BounceClass.RECIPIENT
    if SOFT_WORDS.search(text):
        return BounceClass.SOFT
    return None


def classify_bounce(*, text: str, esp_label: str = "") -> Verdict:
    """Classify one bounce from the server's response ``text`` (codes and words); ``esp_label``
    ("hard", "soft", "sender" or "") is the ESP's own opinion, used only as a last resort.

    A bounce nothing can decide is soft: it counts towards the repeat limit, never
    suppresses at once.
    """
    text = " ".join(text.split())
    enhanced = ENHANCED_CODE.search(text)
    if enhanced:
        klass, subject, detail = (int(part) for part in enhanced.groups())
        code = enhanced.group(0)
        kind = _by_code(klass, subject, detail, text) or _by_words(text)
        if kind is None:
            kind = _by_label(esp_label) or (
                BounceClass.RECIPIENT if klass == 5 else BounceClass.SOFT
            )
        return Verdict(kind, code, text)
    kind = _by_words(text)
    basic = BASIC_CODE.search(text)
    code = basic.group(0) if basic else ""
    if kind is None and code.startswith("4"):
        kind = BounceClass.SOFT  # a 4xx is temporary, whatever the ESP calls it
    if kind is None:
        kind = _by_label(esp_label)
    if kind is None and basic:
        kind = BounceClass.RECIPIENT
    return Verdict(kind or BounceClass.SOFT, code, text)


def _by_label(label: str) -> str | None:
    return {
        "hard": BounceClass.RECIPIENT,
        "soft": BounceClass.SOFT,
        "sender": BounceClass.SENDER,
    }.get(label)


# SparkPost's bounce classes (its documentation, "Bounce classification codes").
SPARKPOST_CLASSES = {
    "10": "hard",
    "30": "hard",
    "90": "hard",
    "20": "soft",
    "21": "soft",
    "22": "soft",
    "23": "soft",
    "24": "soft",
    "40": "soft",
    "60": "soft",
    "70": "soft",
    "100": "soft",
    "50": "sender",
    "51": "sender",
    "52": "sender",
    "53": "sender",
    "54": "sender",
}


def _ses_status(raw: dict[str, Any], recipient: str) -> str:
    for entry in (raw.get("bounce") or {}).get("bouncedRecipients") or []:
        if isinstance(entry, dict) and str(entry.get("emailAddress", "")).lower() == recipient:
            return str(entry.get("status") or "")
    return ""


def esp_opinion(*, esp: str, raw: Any, recipient: str) -> tuple[str, str]:
    """What the ESP's raw event adds: (extra response text, its hard/soft label)."""
    if not isinstance(raw, dict):
        return "", ""
    if esp == "Amazon SES":
        kind = str((raw.get("bounce") or {}).get("bounceType") or "")
        label = {"Permanent": "hard", "Transient": "soft"}.get(kind, "")
        return _ses_status(raw, recipient), label
    if esp == "Postmark":
        kind = str(raw.get("Type") or "")
        labels = {"HardBounce": "hard", "BadEmailAddress": "hard", "SoftBounce": "soft"}
        return "", labels.get(kind, "soft" if kind in ("Transient", "DnsError") else "")
    if esp == "Mailgun":
        data = raw.get("event-data") or {}
        status = data.get("delivery-status") or {}
        severity = str(data.get("severity") or "")
        text = f"{status.get('code') or ''} {status.get('description') or ''}"
        return text, {"permanent": "hard", "temporary": "soft"}.get(severity, "")
    if esp == "SendGrid":
        label = {"bounce": "hard", "blocked": "soft"}.get(str(raw.get("type") or ""), "")
        return str(raw.get("status") or ""), label
    if esp == "Brevo":
        kind = str(raw.get("event") or "")
        return "", {"hard_bounce": "hard", "invalid_email": "hard", "soft_bounce": "soft"}.get(
            kind, ""
        )
    if esp == "Resend":
        bounce = (raw.get("data") or {}).get("bounce") or {}
        label = {"Permanent": "hard", "Transient": "soft"}.get(str(bounce.get("type") or ""), "")
        return str(bounce.get("subType") or ""), label
    if esp == "SparkPost":
        event = (raw.get("msys") or {}).get("message_event") or {}
        return "", SPARKPOST_CLASSES.get(str(event.get("bounce_class") or ""), "")
    if esp == "Mailjet":
        related = str(raw.get("error_related_to") or "")
        if related in ("spam", "content"):
            return str(raw.get("error") or ""), "sender"
        return str(raw.get("error") or ""), "hard" if raw.get("hard_bounce") else "soft"
    return "", ""
