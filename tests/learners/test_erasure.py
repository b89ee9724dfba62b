"""The keyed hash of erased addresses: one-way, normalised, and still recognised after the
secret key is rotated (the old key among the fallbacks)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from learners.erasure import address_digest, erased_among, remember_erased, suppress_erased
from learners.models import ErasedAddress, Learner, Manager
from tests.factories import NOW, LearnerFactory

pytestmark = pytest.mark.django_db


def test_the_hash_is_keyed_and_normalised():
    with override_settings(SECRET_KEY="key-one", ERASURE_HASH_KEY=""):
        one = address_digest(" Ann@Example.com ")
        assert one == address_digest("ann@example.com")
    with override_settings(SECRET_KEY="key-two", ERASURE_HASH_KEY=""):
        assert address_digest("ann@example.com") != one
    assert "ann" not in one and len(one) == 64


def test_an_address_erased_under_an_old_key_is_still_recognised():
    with override_settings(SECRET_KEY="old-key", SECRET_KEY_FALLBACKS=[], ERASURE_HASH_KEY=""):
        remember_erased(address="ann@example.com", now=NOW)
    with override_settings(
        SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"], ERASURE_HASH_KEY=""
    ):
        assert erased_among(["ANN@example.com", "bob@example.com"]) == {"ann@example.com"}
    with override_settings(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=[], ERASURE_HASH_KEY=""):
        assert erased_among(["ann@example.com"]) == set()


def test_an_own_key_is_used_whatever_the_secret_key():
    with override_settings(ERASURE_HASH_KEY="erasure-key", SECRET_KEY="a"):
        remember_erased(address="ann@example.com", now=NOW)
        remember_erased(address="ann@example.com", now=NOW)
    assert ErasedAddress.objects.count() == 1
    with override_settings(ERASURE_HASH_KEY="erasure-key", SECRET_KEY="b"):
        assert erased_among(["ann@example.com"]) == {"ann@example.com"}


def test_suppress_erased_stops_learners_and_managers_with_the_address_only():
    remember_erased(address="ann@example.com", now=NOW)
    ann = LearnerFactory.create(email="ann@example.com")
    bob = LearnerFactory.create(email="bob@example.com")
    boss = Manager.objects.create(email="ann@example.com")

    changed = suppress_erased(emails=["ann@example.com", "bob@example.com"], now=NOW)

    assert changed == 2
    ann.refresh_from_db()
    assert (ann.suppressed_at, ann.suppression_reason) == (NOW, "erased")
    assert Learner.objects.get(pk=bob.pk).suppressed_at is None
    boss.refresh_from_db()
    assert boss.nudges_opted_out_at == NOW


def test_nothing_erased_costs_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert suppress_erased(emails=["ann@example.com"], now=NOW) == 0
