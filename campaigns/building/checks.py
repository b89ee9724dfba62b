"""Checks on what staff type that ends up in a header or behind a redirect, and on the
channel a step goes by.

The forms use them when staff save and the launch check uses them again for every campaign,
step and variant, so that a value stored some other way cannot slip through either.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedRedirect
from django.http import HttpResponseRedirect

from campaigns.content import links, sms, templating
from campaigns.models import Audience, Channel, Step
from learners.models import TeamChannel

# A learner's button leads to a web page; only the manager's copy opens a ready-to-send email,
# and that link is built by the product, never typed.
CTA_SCHEMES = ("https", "http")


def header_problem(value: str) -> str | None:
    """Why ``value`` cannot go into an email header (sender name, address, reply-to), or None.

    A line break would end the header and start another one (``Bcc: …``).
    """
    if "\r" in value or "\n" in value:
        return "cannot contain a line break"
    if any(unicodedata.category(char) == "Cc" for char in value):
        return "cannot contain control characters"
    return None


def cta_url_problem(url: str) -> str | None:
    """Why a browser would not follow a redirect to ``url`` as a CTA, or None."""
    if not url:
        return None
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return "cannot contain spaces, line breaks or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() not in CTA_SCHEMES:
        return f"must start with https:// or http://, not “{parts.scheme or url}”"
    if not parts.hostname:
        return "needs a host name after https://"
    if parts.username is not None or parts.password is not None:
        return "cannot carry a user name or password: browsers warn about or refuse such links"
    tracked = links.with_utm(url, source="check", campaign="check", content="check")
    try:
        HttpResponseRedirect(tracked)
    except DisallowedRedirect as exc:
        return f"cannot be redirected to ({exc})"
    return None


def link_problem(text: str) -> str | None:
    """Why staff text that reaches an email as it is (postal address, an incentive's title,
    description or value) cannot be saved, or None: mail clients turn a typed address into a
    link that would bypass the click redirect and be a second call to action."""
    link = templating.find_link(text)
    if link:
        return f"cannot carry a link (“{link}”): the button is the email's one link"
    return None


# Who each channel can reach: Slack and Teams carry manager nudges (a DM, a team channel),
# text messages go to learners and managers with a number and SMS consent on file.
CHANNEL_AUDIENCES = {
    Channel.EMAIL: {Audience.LEARNER, Audience.MANAGER, Audience.BOTH},
    Channel.SLACK: {Audience.MANAGER},
    Channel.TEAMS: {Audience.MANAGER},
    Channel.SMS: {Audience.LEARNER, Audience.MANAGER, Audience.BOTH},
}


def channel_setup_problem(channel: str) -> str | None:
    """Why nothing can go out on ``channel`` on this installation, or None."""
    if channel == Channel.SLACK and not settings.SLACK_BOT_TOKEN:
        return "Slack is not configured (set SLACK_BOT_TOKEN to the bot's token)"
    if channel == Channel.SMS and not (
        settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM
    ):
        return "SMS is not configured (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM)"
    if channel == Channel.TEAMS and not TeamChannel.objects.exists():
        return "no team has a Teams channel yet (add one under Learners › Teams channels)"
    return None


def channel_problems(step: Step) -> list[str]:
    """Why ``step`` cannot go out on its channel: a channel that cannot reach its audience,
    one this installation has not set up, or a text message that does not fit."""
    channel = Channel(step.channel)
    problems: list[str] = []
    if step.audience not in CHANNEL_AUDIENCES[channel]:
        reaches = " or ".join(Audience(a).label.lower() for a in sorted(CHANNEL_AUDIENCES[channel]))
        problems.append(
            f"{channel.label} reaches only the {reaches}; change the audience or the channel"
        )
    if problem := channel_setup_problem(channel):
        problems.append(f"goes by {channel.label} but {problem}")
    if channel == Channel.SMS:
        for problem in sms_text_problems(step):
            problems.append(problem)
    return problems


def sms_text_problems(step: Step) -> list[str]:
    """Why an SMS step's texts cannot go out: the learner's text when the learner gets one,
    the manager's when the manager does."""
    problems = []
    if step.audience in (Audience.LEARNER, Audience.BOTH) and (
        problem := sms.sms_problem(step.sms_body)
    ):
        problems.append(problem)
    if step.audience in (Audience.MANAGER, Audience.BOTH) and (
        problem := sms.sms_problem(step.manager_sms_body, to_manager=True)
    ):
        problems.append(problem)
    return problems
