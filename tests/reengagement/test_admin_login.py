"""Repeated failed admin logins are throttled (django-axes), per username and per address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings

from reengagement.client_ip import client_ip

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, username: str, password: str, address: str = "203.0.113.7") -> int:
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code


@pytest.fixture
def alice() -> User:
    return User.objects.create_superuser("alice", "alice@example.com", "the-right-password")


def test_five_wrong_passwords_lock_the_username_even_with_the_right_one(alice: User) -> None:
    client = Client()
    assert [attempt(client, "alice", f"guess-{n}") for n in range(4)] == [200] * 4
    assert attempt(client, "alice", "guess-5") == 429
    # Locked: the right password from anywhere else does not get in either.
    assert attempt(Client(), "alice", "the-right-password", address="198.51.100.1") == 429
    assert "_auth_user_id" not in client.session


def test_an_address_trying_many_usernames_is_locked(alice: User) -> None:
    client = Client()
    for n in range(4):
        assert attempt(client, f"user{n}", "guess") == 200
    assert attempt(client, "user5", "guess") == 429
    assert attempt(client, "alice", "the-right-password") == 429
    # Another address is not affected.
    assert attempt(Client(), "alice", "the-right-password", address="198.51.100.1") == 302


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count(alice: User) -> None:
    client = Client()
    for n in range(4):
        attempt(client, "alice", f"guess-{n}")
    assert attempt(client, "alice", "the-right-password") == 302
    client.logout()
    assert [attempt(client, "alice", f"again-{n}") for n in range(4)] == [200] * 4


def test_without_trusted_proxies_the_address_is_the_connections() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == "10.0.0.2"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw() -> None:
    # The client wrote "1.2.3.4" itself; the proxy appended the address it really came from.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == "203.0.113.7"
    bypassed = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    assert client_ip(bypassed) == "203.0.113.9"
