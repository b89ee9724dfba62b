"""HTTP Basic credentials of an LMS source: issued once, checked on every request, revocable."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

from learners.models import LmsSource


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_credentials(*, source: LmsSource) -> str:
    """Give ``source`` a new secret (and a user name if it has none); return the secret.

    The secret is shown to staff once and never stored: a previous secret stops working, and
    issuing again lifts a revocation.
    """
    if not source.key:
        source.key = f"lms-{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    source.secret_digest = secret_digest(secret)
    source.revoked_at = None
    source.save()
    return secret


def revoke_credentials(*, source: LmsSource, now: dt.datetime) -> None:
    """The source's secret stops working at once; what it sent stays stored."""
    LmsSource.objects.filter(pk=source.pk, revoked_at__isnull=True).update(revoked_at=now)
    source.refresh_from_db(fields=["revoked_at"])


def source_for_credentials(key: str, secret: str) -> LmsSource | None:
    """The active source with this user name and secret, or ``None``."""
    source = LmsSource.objects.filter(key=key, revoked_at__isnull=True).first()
    if source is None or not source.secret_digest:
        return None
    if not hmac.compare_digest(source.secret_digest, secret_digest(secret)):
        return None
    return source


def source_for_basic_auth(header: str) -> LmsSource | None:
    """The source named by an ``Authorization: Basic …`` header, or ``None``."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return source_for_credentials(key, secret)
