"""Art. 17: after erasure no table holds her address or name, the campaign's results are the
same, and a re-import, the sync or the activity API cannot make her reachable again."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.data_rights.erase import erase_subject
from campaigns.data_rights.subjects import find_subject
from campaigns.engine.run import run_pass
from campaigns.models import Enrollment, EspEvent, Send, SuppressedAddress
from learners import contactability
from learners.imports.files import import_file
from learners.models import ErasedAddress, Erasure, Learner, Manager
from learners.sync.bulk import sync_file
from tests.campaigns.conftest import day
from tests.campaigns.data_rights.conftest import (
    ADDRESS,
    FIRST,
    LAST,
    SECRETS,
    World,
    cells_mentioning,
    results_json,
)
from tests.factories import LearnerFactory

HEADER = "external_id,email,first_name,last_name,manager_email"
ROW = f"LMS-4711,{ADDRESS},{FIRST},{LAST},"


def erase(identifier: str = ADDRESS, *extra: str) -> str:
    out = StringIO()
    call_command("learner_data", "erase", identifier, *extra, stdout=out)
    return out.getvalue()


def test_after_erasure_no_table_holds_her_address_or_name(world: World):
    assert cells_mentioning(*SECRETS)  # the check finds them before

    erase(ADDRESS, "--by", "dpo")

    assert cells_mentioning(*SECRETS) == []


def test_the_campaign_results_are_unchanged(world: World):
    before = results_json(world.campaign, day(40))

    erase()

    assert results_json(world.campaign, day(40)) == before
    figures = json.loads(before)
    # She is one of the two who came back: her rows still count.
    assert figures["enrolled"]["treated"] == 6
    assert figures["reactivation"]["treated"]["reactivated"] == 2


def test_erasure_is_logged_without_personal_data(world: World, django_user_model):
    dpo = django_user_model.objects.create_user("dpo", is_staff=True)
    erasure = erase_subject(subject=find_subject(identifier="LMS-4711"), user=dpo, now=day(10))

    row = Erasure.objects.get()
    assert row == erasure
    assert (row.erased_by, row.erased_by_username, row.lms_id) == (dpo, "dpo", "LMS-4711")
    assert row.erased_at == day(10)
    assert row.learner_pk == world.learner.pk
    assert row.counts["campaigns.Send"] >= 3
    assert ADDRESS not in str(row.counts)


def test_an_lms_id_that_is_an_address_is_logged_only_hashed(world: World):
    Learner.objects.filter(pk=world.learner.pk).update(external_id=ADDRESS)

    erase()

    assert Erasure.objects.get().lms_id.startswith("hmac:")


def test_the_learner_stays_anonymised_unsubscribed_and_suppressed(world: World):
    pending = Send.objects.create(
        enrollment=world.report.enrollments.get(),
        campaign=world.campaign,
        learner=world.report,
        manager=world.report.manager,
        audience="manager",
        status="scheduled",
        due_at=day(12),
        created_at=day(9),
        kind="handoff",
    )
    erase()

    learner = Learner.objects.get(pk=world.learner.pk)
    assert learner.email == f"erased-{learner.pk}@erased.invalid"
    assert (learner.first_name, learner.last_name, learner.external_id) == (
        "",
        "",
        f"erased-{learner.pk}",
    )
    assert learner.erased_at and learner.unsubscribed_at and learner.suppressed_at
    assert learner.suppression_reason == "erased"
    manager = Manager.objects.get(learner__isnull=True, name="", email__startswith="erased-")
    assert manager.nudges_opted_out_at is not None
    # A hand-off to her about her report is not sent any more.
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason) == ("skipped", "data erased")
    assert ErasedAddress.objects.count() == 1
    assert ADDRESS not in ErasedAddress.objects.get().digest


def test_an_active_enrollment_ends_and_nothing_more_is_sent(world: World):
    Enrollment.objects.filter(learner=world.learner).update(
        status="active", ended_at=None, next_step=4, next_due_at=day(10)
    )
    erase()

    enrollment = Enrollment.objects.get(learner=world.learner)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "data erased")
    run_pass(now=day(11))
    assert not Send.objects.filter(learner=world.learner, created_at__gte=day(10)).exists()


def test_a_second_erasure_is_refused(world: World):
    erase("LMS-4711")
    with pytest.raises(CommandError, match="No learner or manager"):
        erase("LMS-4711")


def test_a_csv_import_of_her_again_creates_her_suppressed(world: World, tmp_path):
    erase()
    path = tmp_path / "learners.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")

    summary = import_file(kind="learners", path=path, now=day(20))

    assert summary.created == 1
    again = Learner.objects.get(email=ADDRESS)
    assert again.pk != world.learner.pk
    assert again.suppressed_at == day(20) and again.suppression_reason == "erased"
    run_pass(now=day(21))
    assert not Enrollment.objects.filter(learner=again).exists()


def test_her_address_as_someone_s_manager_comes_back_opted_out(world: World, tmp_path):
    erase()
    path = tmp_path / "learners.csv"
    path.write_text(f"{HEADER}\nNEW-1,new.person@example.org,New,Person,{ADDRESS}\n")

    import_file(kind="learners", path=path, now=day(20))

    assert Manager.objects.get(email=ADDRESS).nudges_opted_out_at == day(20)


def test_the_sync_creates_her_suppressed(world: World, tmp_path):
    erase()
    path = tmp_path / "learners.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")

    sync_file(path=path, now=day(20))

    assert Learner.objects.get(email=ADDRESS).suppression_reason == "erased"


@pytest.mark.postgres
def test_the_set_based_sync_on_postgres_creates_her_suppressed(world: World, tmp_path):
    erase()
    path = tmp_path / "learners.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")

    summary = sync_file(path=path, now=day(20))

    assert summary.created == 1
    assert Learner.objects.get(email=ADDRESS).suppressed_at == day(20)


def test_the_activity_api_cannot_bring_the_erased_learner_back(world: World):
    user = User.objects.create_user("lms")
    user.user_permissions.add(Permission.objects.get(codename="add_activityevent"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    erase()

    response = api.post(
        "/api/v1/activity/events/",
        [
            {
                "event_id": "late-1",
                "learner_id": "LMS-4711",
                "kind": "login",
                "occurred_at": day(9).isoformat(),
            }
        ],
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert not Learner.objects.filter(external_id="LMS-4711").exists()


def test_staff_cannot_lift_an_erased_address_through_a_later_bounce(world: World, tmp_path):
    erase()
    path = tmp_path / "learners.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    import_file(kind="learners", path=path, now=day(20))
    again = Learner.objects.get(email=ADDRESS)
    contactability.suppress_learners_at(moments={again.pk: (day(19), "bounce")})

    contactability.lift_learner_suppression(email=ADDRESS)

    again.refresh_from_db()
    assert again.suppression_reason == "erased" and again.suppressed_at is not None


def test_a_manager_who_is_no_learner_is_erased_by_address(world: World):
    other = Manager.objects.get(reports=world.learner)
    other_address, other_name = other.email, other.name
    manager_sends = Send.objects.filter(manager=other)
    assert manager_sends.exists() and cells_mentioning(other_address)

    out = erase(other_address)

    assert "learners.Manager: 1" in out
    assert cells_mentioning(other_address, other_name) == []
    other.refresh_from_db()
    assert other.nudges_opted_out_at is not None and other.email.endswith("@erased.invalid")
    assert Erasure.objects.get().lms_id == ""
    # She, the learner, is untouched.
    assert Learner.objects.get(pk=world.learner.pk).email == ADDRESS


def test_a_longer_address_that_contains_hers_is_left_alone(world: World):
    longer = f"jo{ADDRESS}"
    LearnerFactory.create(email=longer, first_name="Jo")
    EspEvent.objects.create(
        esp="sendgrid",
        key="sg-other",
        event_type="bounced",
        recipient=longer,
        occurred_at=day(3),
        received_at=day(3),
        raw={"email": longer},
    )
    SuppressedAddress.objects.create(address=longer, reason="bounce", suppressed_at=day(3))

    erase()

    assert EspEvent.objects.get(key="sg-other").raw == {"email": longer}
    assert SuppressedAddress.objects.filter(address=longer).exists()
    assert Learner.objects.filter(email=longer).exists()


def test_what_names_an_erased_address_after_the_erasure_can_be_erased_too(world: World):
    erase()
    late = EspEvent.objects.create(
        esp="sendgrid",
        key="sg-late",
        event_type="opened",
        recipient=ADDRESS,
        occurred_at=day(12),
        received_at=day(12),
        raw={"email": ADDRESS},
    )

    out = erase(ADDRESS, "--by", "dpo")

    assert "campaigns.EspEvent: 1" in out
    late.refresh_from_db()
    assert (late.recipient, late.raw) == ("", {})
    assert cells_mentioning(*SECRETS) == []
    assert Erasure.objects.count() == 2
