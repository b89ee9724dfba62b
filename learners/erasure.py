"""Erased addresses: the keyed hash kept after a learner's data is erased, and the check that
creates anyone who comes back with such an address suppressed.

The hash is an HMAC-SHA256 of the normalised address under ``ERASURE_HASH_KEY`` (by default
the ``SECRET_KEY``). A plain hash of an address can be reversed by hashing a list of
addresses; a keyed one cannot without the key. Addresses are checked against the current key
and every ``SECRET_KEY_FALLBACKS`` key (when no key of its own is set), so rotating the
secret key keeps erased addresses recognised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings

from learners import contactability
from learners.lookups import LOOKUP_CHUNK, chunked
from learners.models import ErasedAddress, Learner, Manager, normalize_email

SALT = b"learners.erased-address"


def _keys() -> list[bytes]:
    own = settings.ERASURE_HASH_KEY
    keys = [own] if own else [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [hashlib.sha256(SALT + key.encode()).digest() for key in keys]


def address_digest(address: str, *, key: bytes | None = None) -> str:
    """The keyed one-way hash of ``address`` (normalised), as stored in ``ErasedAddress``."""
    chosen = key if key is not None else _keys()[0]
    return hmac.new(chosen, normalize_email(address).encode(), hashlib.sha256).hexdigest()


def remember_erased(*, address: str, now: dt.datetime) -> None:
    """Keep the hash of an erased address (once; a second erasure changes nothing)."""
    ErasedAddress.objects.get_or_create(digest=address_digest(address), defaults={"erased_at": now})


def erased_among(addresses: Iterable[str]) -> set[str]:
    """The addresses of ``addresses`` that were erased: a query per chunk of addresses."""
    by_digest: dict[str, str] = {}
    keys = _keys()
    for address in {normalize_email(a) for a in addresses if a}:
        for key in keys:
            by_digest[address_digest(address, key=key)] = address
    found: set[str] = set()
    for chunk in chunked(sorted(by_digest), LOOKUP_CHUNK):
        found.update(
            by_digest[digest]
            for digest in ErasedAddress.objects.filter(digest__in=chunk).values_list(
                "digest", flat=True
            )
        )
    return found


def suppress_erased(*, emails: Iterable[str], now: dt.datetime) -> int:
    """Suppress the learners, and stop the nudges of the managers, whose address among
    ``emails`` was erased; how many rows changed.

    Called by every path that creates or readdresses people (the file import, the sync, the
    admin) with the addresses it wrote. One look at the list when nothing was ever erased.
    """
    if not ErasedAddress.objects.exists():
        return 0
    erased = sorted(erased_among(emails))
    if not erased:
        return 0
    changed = contactability.suppress_learners(
        learner_ids=Learner.objects.filter(email__in=erased).values("pk"),
        reason=Learner.SuppressionReason.ERASED,
        now=now,
    )
    return changed + contactability.opt_out_managers(
        manager_ids=Manager.objects.filter(email__in=erased).values("pk"), now=now
    )
