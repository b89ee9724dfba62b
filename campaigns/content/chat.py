"""Manager nudges as chat messages: a Slack direct message (Block Kit, with a plain-text
fallback) and a Microsoft Teams Adaptive Card, built from the same rendered copy as the email;
and the weekly digest as a Slack direct message, built from the same content as its email.

Names and copy go out as text, never as markup: Slack gets ``plain_text`` objects, or
``mrkdwn`` with its control characters escaped (no ``@channel`` mention, no link from a
name), and the markdown characters Adaptive Card TextBlocks would format are escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from campaigns.content.emails import DigestContent, RenderedEmail

# Slack's limits: a header's text 150 characters, a section's 3000, a button's label 75.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_BUTTON_MAX = 75
ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SlackMessage:
    """``chat.postMessage``'s ``text`` (notifications, and clients that cannot show blocks)
    and ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


def _plain(text: str, limit: int = SLACK_SECTION_MAX) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": False}


def slack_message(rendered: RenderedEmail) -> SlackMessage:
    """The nudge as a Slack DM: the subject as header, the body, the line to send, a button
    (through the tracked redirect) and the opt-out."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(rendered.subject, SLACK_HEADER_MAX)},
        {"type": "section", "text": _plain(rendered.body_text)},
    ]
    if rendered.script:
        blocks.append({"type": "section", "text": _plain(f"“{rendered.script}”")})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": _plain(rendered.cta_label, SLACK_BUTTON_MAX),
                    "url": rendered.cta_href,
                    "style": "primary",
                }
            ],
        }
    )
    if rendered.opt_out_url:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    _plain(f"{rendered.opt_out_label}: {rendered.opt_out_url}", 2000),
                ],
            }
        )
    text = "\n\n".join(
        part
        for part in (
            rendered.subject,
            rendered.body_text,
            rendered.script and f"“{rendered.script}”",
            f"{rendered.cta_label}: {rendered.cta_href}",
        )
        if part
    )
    return SlackMessage(text=_cut(text, 4000), blocks=blocks)


_MARKDOWN = re.compile(r"([\\`*_\[\]()#+\-.!>~|])")


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": _MARKDOWN.sub(r"\\\1", text), "wrap": True, **style}


def teams_payload(rendered: RenderedEmail) -> dict[str, Any]:
    """The body a Teams Workflows webhook takes: a message with one Adaptive Card
    attachment (the nudge, the line to send, a button through the tracked redirect)."""
    body = [
        _text_block(rendered.subject, weight="Bolder", size="Medium"),
        _text_block(rendered.body_text),
    ]
    if rendered.script:
        body.append(_text_block(f"“{rendered.script}”", isSubtle=True))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": rendered.cta_label, "url": rendered.cta_href}
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
        ],
    }


# A Slack message holds at most 50 blocks; a digest uses four besides its reports.
SLACK_MAX_BLOCKS = 50
SLACK_DIGEST_MAX_REPORTS = SLACK_MAX_BLOCKS - 4


def _mrkdwn_escape(text: str) -> str:
    """Text as Slack's ``mrkdwn`` shows it literally: the three characters it reads as
    control sequences (a link, a mention) are escaped, as Slack's formatting guide says."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _report_details(row: dict[str, str | int]) -> list[str]:
    """A digest row's course, where they paused and days inactive, as a chat line shows them."""
    days = row["days_inactive"]
    inactive = f"{days} days inactive" if isinstance(days, int) else str(days)
    return [str(row["course"]), f"paused at {row['paused_at']}", inactive]


def _rate_line(values: dict[str, str | int]) -> str:
    change = f" ({values['team_change']})" if values["team_change"] else ""
    return f"Team completion rate: {values['team_rate']}{change}"


def _digest_report(row: dict[str, str | int], pause_days: int | str) -> dict[str, Any]:
    line = " · ".join(_mrkdwn_escape(part) for part in _report_details(row))
    text = (
        f"*{_mrkdwn_escape(str(row['name']))}* ({_mrkdwn_escape(str(row['status']))})\n"
        f"{line} · {row['percent']}% done\n"
        f"Sent so far: {_mrkdwn_escape(str(row['sent']))} · "
        f"<{_mrkdwn_escape(str(row['mailto']))}|Send a note>"
    )
    if len(text) > SLACK_SECTION_MAX:
        raise DigestTooLarge(f"a report's line is longer than Slack's {SLACK_SECTION_MAX}")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": text},
        "accessory": {
            "type": "button",
            "text": _plain("I've talked to them", SLACK_BUTTON_MAX),
            "url": str(row["check_in_url"]),
            "accessibility_label": _cut(
                f"I've talked to {row['name']}: pause their reminders for {pause_days} days",
                75,
            ),
        },
    }


class DigestTooLarge(Exception):
    """The digest does not fit in one Slack message: it goes by email."""


def slack_digest(content: DigestContent) -> SlackMessage:
    """The weekly digest as a Slack DM: the subject, the team's completion rate, one section
    per report (what the email's table says, "Send a note" as a prefilled email, "I've
    talked to them" as a button) and the digest's opt-out. Raises :class:`DigestTooLarge`
    when it cannot fit in one message (more than 46 reports)."""
    values, rows = content.values, content.rows
    if len(rows) > SLACK_DIGEST_MAX_REPORTS:
        raise DigestTooLarge(
            f"{len(rows)} reports do not fit in one Slack message "
            f"(at most {SLACK_DIGEST_MAX_REPORTS})"
        )
    rate = _rate_line(values)
    pause_days = values["pause_days"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(str(values["subject"]), SLACK_HEADER_MAX)},
        {"type": "section", "text": _plain(rate)},
        *(_digest_report(row, pause_days) for row in rows),
        {
            "type": "context",
            "elements": [
                _plain(f"“I've talked to them” pauses their reminders for {pause_days} days.")
            ],
        },
        {
            "type": "context",
            "elements": [_plain(f"Stop the weekly team digest: {values['unsubscribe_url']}", 2000)],
        },
    ]
    names = ", ".join(str(row["name"]) for row in rows)
    text = f"{values['subject']}\n{rate}\n{names}"
    return SlackMessage(text=_cut(text, 4000), blocks=blocks)


# A Teams webhook takes a message of at most 28 KB.
TEAMS_MAX_BYTES = 28 * 1024


def teams_digest(content: DigestContent) -> dict[str, Any]:
    """The weekly digest as an Adaptive Card for the team's channel: the subject, the team's
    completion rate, one container per report (the email's columns, "Send a note" as the
    prefilled email, "I've talked to them" as a button) and the digest's opt-out. Raises
    :class:`DigestTooLarge` when the card is over what a Teams webhook takes."""
    values, rows = content.values, content.rows
    pause_days = values["pause_days"]
    body: list[dict[str, Any]] = [
        _text_block(str(values["subject"]), weight="Bolder", size="Medium"),
        _text_block(_rate_line(values)),
    ]
    for row in rows:
        details = " · ".join(_report_details(row))
        body.append(
            {
                "type": "Container",
                "separator": True,
                "items": [
                    _text_block(f"{row['name']} ({row['status']})", weight="Bolder"),
                    _text_block(f"{details} · {row['percent']}% done"),
                    _text_block(f"Sent so far: {row['sent']}", isSubtle=True),
                    {
                        "type": "ActionSet",
                        "actions": [
                            {
                                "type": "Action.OpenUrl",
                                "title": "I've talked to them",
                                "url": str(row["check_in_url"]),
                            },
                            {
                                "type": "Action.OpenUrl",
                                "title": "Send a note",
                                "url": str(row["mailto"]),
                            },
                        ],
                    },
                ],
            }
        )
    body.append(
        _text_block(
            f"“I've talked to them” pauses their reminders for {pause_days} days. "
            f"Stop the weekly team digest: {values['unsubscribe_url']}",
            isSubtle=True,
            size="Small",
        )
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
    }
    payload = {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
        ],
    }
    size = len(json.dumps(payload).encode())
    if size > TEAMS_MAX_BYTES:
        raise DigestTooLarge(
            f"the card for {len(rows)} reports is {size // 1024} KB, over the 28 KB a Teams "
            "webhook takes"
        )
    return payload
