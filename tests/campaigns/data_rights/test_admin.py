"""The admin: only staff with the data-rights permission export or erase, after a
confirmation page; a viewer gets 403 and sees no link."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from learners.models import Erasure, Learner
from tests.campaigns.data_rights.conftest import ADDRESS, World
from tests.factories import staff_user


def client_for(*groups: str) -> Client:
    client = Client()
    client.force_login(staff_user("-".join(groups).lower().replace(" ", "") or "x", *groups))
    return client


@pytest.fixture
def dpo() -> Client:
    return client_for("Data protection")


def urls(learner: Learner) -> tuple[str, str, str]:
    return (
        reverse("admin:learners_learner_data_export", args=[learner.pk]),
        reverse("admin:learners_learner_data_erase", args=[learner.pk]),
        reverse("admin:learners_learner_change", args=[learner.pk]),
    )


def test_a_viewer_gets_403_and_sees_no_link(world: World):
    viewer = client_for("Viewers")
    export, erase, change = urls(world.learner)

    assert viewer.get(export).status_code == 403
    assert viewer.get(erase).status_code == 403
    assert viewer.post(erase).status_code == 403
    page = viewer.get(change).content.decode()
    assert "Timeline" in page and "Erase data" not in page and "Export data" not in page
    assert Learner.objects.get(pk=world.learner.pk).email == ADDRESS


def test_staff_with_the_permission_download_the_json(world: World, dpo: Client):
    export, _erase, change = urls(world.learner)

    assert "Erase data" in dpo.get(change).content.decode()
    response = dpo.get(export)

    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == f'attachment; filename="learner-{world.learner.pk}.json"'
    )
    assert json.loads(response.content)["tables"]["profile"][0]["email"] == ADDRESS


def test_erasing_asks_first_then_erases_and_logs_who(world: World, dpo: Client):
    _export, erase, change = urls(world.learner)

    page = dpo.get(erase).content.decode()
    assert "Erasing cannot be undone" in page and "sends: " in page
    assert Learner.objects.get(pk=world.learner.pk).erased_at is None

    response = dpo.post(erase, follow=True)

    assert response.redirect_chain[-1][0] == change
    assert "personal data was erased (LMS id LMS-4711 logged)" in response.content.decode()
    assert Learner.objects.get(pk=world.learner.pk).erased_at is not None
    assert Erasure.objects.get().erased_by_username == "dataprotection"
    # Erased: the links are gone and the pages answer 404.
    assert dpo.get(erase).status_code == 404


def test_an_erased_row_cannot_be_edited_and_an_address_typed_in_again_is_suppressed(
    world: World, admin_client: Client
):
    _export, erase, change = urls(world.learner)
    admin_client.post(erase)

    assert 'name="_save"' not in admin_client.get(change).content.decode()
    response = admin_client.post(
        reverse("admin:learners_learner_add"),
        {
            "external_id": "LMS-NEW",
            "email": ADDRESS,
            "first_name": "Annelise",
            "time_zone": "UTC",
            "locale": "en",
        },
    )

    assert response.status_code == 302
    again = Learner.objects.get(external_id="LMS-NEW")
    assert again.suppression_reason == "erased" and again.suppressed_at is not None
