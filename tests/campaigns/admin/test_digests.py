"""Staff choose the digest's day, hour and pause in one settings row; everyone reads the
digests that went out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from campaigns.models import DigestSettings, ManagerDigest
from tests.campaigns.admin.helpers import client_for, text
from tests.factories import ManagerFactory, staff_user

pytestmark = pytest.mark.django_db


def test_an_editor_chooses_the_day_hour_and_pause() -> None:
    editor = client_for(staff_user("erin", "Campaign editors"))
    page = editor.get("/admin/campaigns/digestsettings/", follow=True)
    assert "Monday" in text(page)
    answer = editor.post(
        "/admin/campaigns/digestsettings/add/",
        {"enabled": "on", "weekday": "2", "hour": "14", "channel": "email", "pause_days": "10",
         "from_name": "People Team", "postal_address": "1 Way"},
    )  # fmt: skip
    assert answer.status_code == 302
    saved = DigestSettings.current()
    assert (saved.pk, saved.weekday, saved.hour, saved.pause_days) == (1, 2, 14, 10)
    # The list opens the one row; there is no second one to add.
    assert editor.get("/admin/campaigns/digestsettings/")["Location"].endswith("/1/change/")
    assert editor.get("/admin/campaigns/digestsettings/add/").status_code == 403
    bad = editor.post(
        "/admin/campaigns/digestsettings/1/change/",
        {"enabled": "on", "weekday": "2", "hour": "25", "channel": "email", "pause_days": "10"},
    )
    assert "Ensure this value is less than or equal to 23." in text(bad)


def test_slack_and_teams_digests_are_refused_until_they_are_set_up() -> None:
    editor = client_for(staff_user("erin", "Campaign editors"))
    form = {"enabled": "on", "weekday": "0", "hour": "9", "channel": "slack", "pause_days": "7"}
    with override_settings(SLACK_BOT_TOKEN=""):
        refused = editor.post("/admin/campaigns/digestsettings/add/", form)
    assert refused.status_code == 200
    assert "Digests cannot go by Slack: Slack is not configured (set SLACK_BOT_TOKEN" in (
        text(refused)
    )
    assert not DigestSettings.objects.exists()
    assert 'value="teams"' in refused.content.decode()
    assert 'value="sms"' in refused.content.decode()
    with override_settings(TWILIO_ACCOUNT_SID=""):
        texts = editor.post("/admin/campaigns/digestsettings/add/", {**form, "channel": "sms"})
    assert "Digests cannot go by text message: SMS is not configured" in text(texts)
    teams = editor.post("/admin/campaigns/digestsettings/add/", {**form, "channel": "teams"})
    assert "Digests cannot go by Microsoft Teams: no team has a Teams channel yet" in text(teams)
    with override_settings(SLACK_BOT_TOKEN="xoxb-test"):
        saved = editor.post("/admin/campaigns/digestsettings/add/", form)
    assert saved.status_code == 302
    assert DigestSettings.current().channel == "slack"


def test_a_viewer_reads_digests_but_changes_no_settings() -> None:
    ManagerDigest.objects.create(
        manager=ManagerFactory.create(email="alex@example.com"),
        week_of=dt.date(2026, 12, 7),
        due_at=dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC),
        created_at=dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC),
        reports=3,
    )
    viewer = client_for(staff_user("vic", "Viewers"))
    assert "alex@example.com" in text(viewer.get("/admin/campaigns/managerdigest/"))
    assert viewer.post("/admin/campaigns/digestsettings/add/", {"hour": "3"}).status_code == 403
