"""Manager nudges as chat messages: a Slack direct message (Block Kit, with a plain-text
fallback) and a Microsoft Teams Adaptive Card, built from the same rendered copy as the email.

Names and copy go out as text, never as markup: Slack gets ``plain_text`` objects (no
``@channel`` mention, no link from a name), and the markdown characters Adaptive Card
TextBlocks would format are escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from campaigns.content.emails import RenderedEmail

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
