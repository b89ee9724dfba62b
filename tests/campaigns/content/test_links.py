"""Signed, purpose-bound links."""

from __future__ import annotations

import datetime as dt
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import override_settings

from campaigns.content import links


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_a_token_is_only_good_for_its_purpose() -> None:
    token = token_of(links.unsubscribe_url(learner_id=7, send_id=3))
    assert links.read_token(token, salt=links.SALT_UNSUBSCRIBE) == {"l": 7, "s": 3}
    for other in (links.SALT_CLICK, links.SALT_SURVEY, links.SALT_MANAGER_OPTOUT):
        with pytest.raises(signing.BadSignature):
            links.read_token(token, salt=other)


def test_a_tampered_token_is_refused() -> None:
    token = token_of(links.click_url(5))
    with pytest.raises(signing.BadSignature):
        links.read_token(token[:-2] + "xx", salt=links.SALT_CLICK)


def test_tokens_survive_a_secret_key_rotation() -> None:
    with override_settings(SECRET_KEY="old-key-" + "x" * 40):
        token = token_of(links.unsubscribe_url(learner_id=7, send_id=None))
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 40]
    ):
        assert links.read_token(token, salt=links.SALT_UNSUBSCRIBE) == {"l": 7}
    with (
        override_settings(SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(signing.BadSignature),
    ):
        links.read_token(token, salt=links.SALT_UNSUBSCRIBE)


@pytest.mark.parametrize(
    ("make", "salt", "value"),
    [
        (lambda: links.preferences_url(learner_id=7), links.SALT_PREFERENCES, {"l": 7}),
        (
            lambda: links.manager_preferences_url(manager_id=4),
            links.SALT_MANAGER_PREFERENCES,
            {"m": 4},
        ),
    ],
)
def test_preference_links_have_their_own_purpose_and_survive_a_rotation(
    make: object, salt: str, value: dict[str, int]
) -> None:
    with override_settings(SECRET_KEY="old-key-" + "x" * 40):
        token = token_of(make())  # type: ignore[operator]
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 40]
    ):
        assert links.read_token(token, salt=salt) == value
        others = {
            links.SALT_UNSUBSCRIBE,
            links.SALT_SURVEY,
            links.SALT_MANAGER_OPTOUT,
            links.SALT_PREFERENCES,
            links.SALT_MANAGER_PREFERENCES,
        } - {salt}
        for other in others:
            with pytest.raises(signing.BadSignature):
                links.read_token(token, salt=other)
    later = time.time() + dt.timedelta(days=800).total_seconds()
    with (
        override_settings(SECRET_KEY="old-key-" + "x" * 40),
        mock.patch("django.core.signing.time.time", return_value=later),
    ):
        assert links.read_token(token, salt=salt) == value


def test_tokens_stay_valid_for_more_than_a_year() -> None:
    token = token_of(links.manager_optout_url(manager_id=4))
    later = time.time() + dt.timedelta(days=800).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert links.read_token(token, salt=links.SALT_MANAGER_OPTOUT) == {"m": 4}


def test_utm_parameters_replace_old_ones_and_keep_the_rest() -> None:
    url = links.with_utm(
        "https://lms.example.com/c/1?module=3&utm_source=old",
        source="reengagement",
        campaign="win-back",
        content="step2-B",
    )
    assert url == (
        "https://lms.example.com/c/1?module=3&utm_source=reengagement&utm_medium=email"
        "&utm_campaign=win-back&utm_content=step2-B"
    )
    assert links.with_utm("mailto:a@example.com", source="s", campaign="c", content="x") == (
        "mailto:a@example.com"
    )


def test_links_are_absolute_on_the_public_base_url() -> None:
    with override_settings(PUBLIC_BASE_URL="https://learn.example.com"):
        assert links.survey_url(learner_id=1, send_id=2).startswith("https://learn.example.com/s/")
