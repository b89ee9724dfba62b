"""LMS API tokens in the admin: a data importer manages only their own, and no page lists a
key in clear once it has been shown."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import staff_user

pytestmark = pytest.mark.django_db

LIST = reverse("admin:campaigns_apitoken_changelist")
ADD = reverse("admin:campaigns_apitoken_add")


def change_url(user: User) -> str:
    # Token pages are addressed by their owner's id, never by the key.
    return reverse("admin:campaigns_apitoken_change", args=[user.pk])


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice() -> User:
    return User.objects.create_superuser("alice", "alice@example.com", "pw-for-tests")


@pytest.fixture
def ivy() -> User:
    return staff_user("ivy", "Data importers")


def test_a_data_importer_cannot_see_or_open_another_users_token(alice: User, ivy: User) -> None:
    theirs = Token.objects.create(user=alice)
    mine = Token.objects.create(user=ivy)
    client = client_for(ivy)
    page = client.get(LIST).content.decode()
    assert f"{mine.key[:4]}…" in page
    assert "alice" not in page and theirs.key[:4] + "…" not in page
    for url in (change_url(alice), reverse("admin:campaigns_apitoken_delete", args=[alice.pk])):
        response = client.get(url, follow=True)
        assert theirs.key not in response.content.decode()
        assert response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"
    client.post(reverse("admin:campaigns_apitoken_delete", args=[alice.pk]), {"post": "yes"})
    assert Token.objects.filter(user=alice).exists()


def test_a_data_importer_makes_a_token_for_themselves_only(alice: User, ivy: User) -> None:
    client = client_for(ivy)
    response = client.post(ADD, {"user": alice.pk})
    assert response.status_code == 200
    token = Token.objects.get()
    assert token.user == ivy, "the user field is not theirs to choose"
    # The one page that shows the whole key.
    assert f'<code id="api-token-key">{token.key}</code>' in response.content.decode()
    assert "It is not shown again" in response.content.decode()


def test_a_second_token_is_refused_with_a_message(ivy: User) -> None:
    Token.objects.create(user=ivy)
    response = client_for(ivy).post(ADD, {})
    assert response.status_code == 200
    assert "You already have an API token: delete it to make a new one." in (
        response.content.decode()
    )
    assert Token.objects.count() == 1


def test_after_creation_no_page_shows_the_key_in_clear(alice: User, ivy: User) -> None:
    client = client_for(ivy)
    client.post(ADD, {})
    token = Token.objects.get(user=ivy)
    change = change_url(ivy)
    history = reverse("admin:campaigns_apitoken_history", args=[ivy.pk])
    delete = reverse("admin:campaigns_apitoken_delete", args=[ivy.pk])
    for url in (LIST, change, history, delete, reverse("admin:index")):
        page = client.get(url)
        assert page.status_code == 200, url
        assert token.key not in page.content.decode(), url
    assert f"{token.key[:4]}… (ivy)" in client.get(change).content.decode()
    assert token.key not in LogEntry.objects.get().object_repr
    # The superuser's list shows every token, masked too.
    assert token.key not in client_for(alice).get(LIST).content.decode()


def test_a_superuser_makes_a_token_for_the_lms_user(alice: User) -> None:
    lms = User.objects.create_user("lms")
    response = client_for(alice).post(ADD, {"user": lms.pk})
    assert response.status_code == 200
    assert Token.objects.get().user == lms


def test_the_token_admin_that_listed_keys_is_gone(alice: User, ivy: User) -> None:
    assert client_for(alice).get("/admin/authtoken/tokenproxy/").status_code == 404
    assert ivy.has_perms(
        ["campaigns.add_apitoken", "campaigns.view_apitoken", "campaigns.delete_apitoken"]
    )
    assert not ivy.has_perm("campaigns.change_apitoken")
    assert not ivy.has_perm("authtoken.add_tokenproxy")
