"""Signed, purpose-bound links: click tracking, unsubscribe, survey, manager opt-out, the
learner's and manager's preference centres, digest opt-out and "I've talked to them".

Each purpose has its own salt, so a token made for one cannot be used for another. A click token
names a send, and the redirect goes only to the destination stored on that send: there is no
open redirect. Tokens have no expiry (an unsubscribe link must work for months) and verify
against ``SECRET_KEY_FALLBACKS`` after a key rotation.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT_CLICK = "campaigns.content.links.click"
SALT_UNSUBSCRIBE = "campaigns.content.links.unsubscribe"
SALT_SURVEY = "campaigns.content.links.survey"
SALT_MANAGER_OPTOUT = "campaigns.content.links.manager-optout"
SALT_PREFERENCES = "campaigns.content.links.preferences"
SALT_MANAGER_PREFERENCES = "campaigns.content.links.manager-preferences"
SALT_DIGEST_OPTOUT = "campaigns.content.links.digest-optout"
SALT_CHECK_IN = "campaigns.content.links.check-in"
SALT_DIGEST_PAGE = "campaigns.content.links.digest-page"


def make_token(value: dict[str, int], *, salt: str) -> str:
    return signing.dumps(value, salt=salt, compress=False)


def read_token(token: str, *, salt: str) -> dict[str, int]:
    """The signed value, or ``signing.BadSignature`` for a forged, mangled or foreign token."""
    value = signing.loads(token, salt=salt)
    if not isinstance(value, dict):
        raise signing.BadSignature("unexpected token payload")
    return value


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


@functools.lru_cache(maxsize=16)
def _route(name: str) -> tuple[str, str]:
    """The path around a token for a URL name, resolved once: every email has several links."""
    before, _, after = reverse(name, args=["TOKEN"]).partition("TOKEN")
    return before, after


def _url(name: str, token: str) -> str:
    before, after = _route(name)
    return absolute(f"{before}{token}{after}")


def click_url(send_id: int) -> str:
    token = make_token({"s": send_id}, salt=SALT_CLICK)
    return _url("campaigns:click", token)


def unsubscribe_token(*, learner_id: int, send_id: int | None) -> str:
    value = {"l": learner_id}
    if send_id is not None:
        value["s"] = send_id
    return make_token(value, salt=SALT_UNSUBSCRIBE)


def unsubscribe_url(*, learner_id: int, send_id: int | None) -> str:
    token = unsubscribe_token(learner_id=learner_id, send_id=send_id)
    return _url("campaigns:unsubscribe", token)


def survey_url(*, learner_id: int, send_id: int | None) -> str:
    value = {"l": learner_id}
    if send_id is not None:
        value["s"] = send_id
    return _url("campaigns:survey", make_token(value, salt=SALT_SURVEY))


def manager_optout_url(*, manager_id: int) -> str:
    token = make_token({"m": manager_id}, salt=SALT_MANAGER_OPTOUT)
    return _url("campaigns:manager_optout", token)


def preferences_url(*, learner_id: int) -> str:
    """The learner's preference centre: pause, fewer emails, channels, unsubscribe."""
    token = make_token({"l": learner_id}, salt=SALT_PREFERENCES)
    return _url("campaigns:preferences", token)


def manager_preferences_url(*, manager_id: int) -> str:
    """The manager's preferences: pause their messages, or stop them."""
    token = make_token({"m": manager_id}, salt=SALT_MANAGER_PREFERENCES)
    return _url("campaigns:manager_preferences", token)


def digest_optout_url(*, manager_id: int) -> str:
    token = make_token({"m": manager_id}, salt=SALT_DIGEST_OPTOUT)
    return _url("campaigns:digest_optout", token)


def check_in_url(*, digest_id: int, learner_id: int) -> str:
    """The manager's "I've talked to them" about one report, from one digest: it names the
    digest, so only the manager it was sent to can pause that report's reminders."""
    token = make_token({"d": digest_id, "l": learner_id}, salt=SALT_CHECK_IN)
    return _url("campaigns:check_in", token)


def digest_page_url(*, digest_id: int) -> str:
    """The weekly digest as a page (what a text message links to): it names the digest, so
    its "I've talked to them" links are that digest's."""
    return _url("campaigns:digest_page", make_token({"d": digest_id}, salt=SALT_DIGEST_PAGE))


def with_utm(url: str, *, source: str, campaign: str, content: str) -> str:
    """The URL with UTM parameters for attribution; other query parameters are kept."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return url
    kept = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in kept if not k.startswith("utm_")]
    query += [
        ("utm_source", source),
        ("utm_medium", "email"),
        ("utm_campaign", campaign),
        ("utm_content", content),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))
