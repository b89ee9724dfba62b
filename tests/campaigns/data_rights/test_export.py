"""Art. 15: everything held about a learner in one JSON document."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from campaigns.data_rights.export import export_subject
from campaigns.data_rights.policy import POLICY
from campaigns.data_rights.subjects import find_subject
from tests.campaigns.conftest import day
from tests.campaigns.data_rights.conftest import ADDRESS, World


def export(identifier: str) -> dict[str, Any]:
    out = StringIO()
    call_command("learner_data", "export", identifier, stdout=out)
    return json.loads(out.getvalue())


def test_the_export_holds_a_record_of_every_kind(world: World):
    document = export(ADDRESS)

    tables = document["tables"]
    assert set(tables) == {p.export_as for p in POLICY.values()}
    empty = [name for name, rows in tables.items() if not rows]
    assert empty == []
    assert tables["profile"][0]["external_id"] == "LMS-4711"
    assert tables["profile"][0]["email"] == ADDRESS
    assert {row["status"] for row in tables["sends"]} >= {"sent"}
    # Every send to her, as a learner and as a manager.
    assert {row["audience"] for row in tables["sends"]} == {"learner", "manager"}
    assert len(tables["esp_events"]) == 3  # by send, as a manager, and by address alone
    assert tables["esp_events"][0]["raw"]["email"] == ADDRESS
    assert tables["survey_answers"][0]["reason"] == "no_time"
    assert tables["clicks"][0]["method"] == "GET"
    assert tables["activity"][0]["kind"] == "login"
    assert tables["progress"][0]["resume_url"].endswith("annelise.zwoelfer")
    assert tables["as_manager"][0]["email"] == ADDRESS
    assert tables["enrollments"][0]["status"] == "reactivated"
    assert tables["awards"][0]["code"] == tables["discount_codes"][0]["code"]
    assert tables["awards"][0]["title"] == "20% off"
    assert tables["award_pushes"][0]["status"] == "pending"
    # Preferences: what she may be sent lives on her profile.
    assert "unsubscribed_at" in tables["profile"][0]


def test_the_export_finds_her_by_lms_id_too(world: World):
    assert export("LMS-4711")["tables"]["profile"][0]["id"] == world.learner.pk


def test_the_export_holds_only_her_records(world: World):
    tables = export_subject(subject=find_subject(identifier=ADDRESS), now=day(10))["tables"]

    assert {row["learner_id"] for row in tables["enrollments"]} == {world.learner.pk}
    learner_sends = [row for row in tables["sends"] if row["audience"] == "learner"]
    assert {row["learner_id"] for row in learner_sends} == {world.learner.pk}


def test_an_unknown_identifier_is_named_in_the_error(world: World):
    with pytest.raises(CommandError, match=r"nobody@example\.org"):
        export("nobody@example.org")
