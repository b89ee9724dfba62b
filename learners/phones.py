"""Phone numbers: parsed with phonenumbers (Google's libphonenumber) and kept in E.164."""

from __future__ import annotations

import phonenumbers
from django.conf import settings


class BadPhoneNumber(ValueError):
    """What was given is not a possible, valid phone number; the message names it."""


def to_e164(value: str, *, region: str | None = None) -> str:
    """``value`` as E.164 (``+4915112345678``); a number without ``+`` is read as one of
    ``region`` (``PHONE_DEFAULT_REGION``). Raises :class:`BadPhoneNumber` naming the value."""
    text = (value or "").strip()
    region = region or settings.PHONE_DEFAULT_REGION or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise BadPhoneNumber(
            f"“{text}” is not a phone number; write it with its country code, e.g. +4915112345678"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise BadPhoneNumber(f"“{text}” is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
