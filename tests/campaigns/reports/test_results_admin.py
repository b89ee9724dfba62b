"""The results pages in the admin, as staff see them: who may look, what the page says, the
exports, and "Apply the winner"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import tablib
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Enrollment, Step, Variant, WinnerApplied
from tests.campaigns.reports.conftest import activity, campaign, enroll, send
from tests.factories import StepFactory, VariantFactory, staff_user

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def running() -> tuple[Campaign, Step, Variant, Variant]:
    """A campaign enrolled 40 days ago (every window closed): the campaign brings learners
    back, and variant B of its first step gets more clicks than A."""
    now = timezone.now()
    c = campaign(name='=HYPERLINK("http://evil.example")', holdout_percent=20)
    step = StepFactory.create(campaign=c, position=1, name="Day 0")
    a = VariantFactory.create(step=step, label="A")
    b = VariantFactory.create(step=step, label="B")
    start = now - dt.timedelta(days=40)
    for i in range(300):
        held = i % 5 == 0
        e = enroll(c, holdout=held, at=start)
        if (held and i % 60 == 0) or (not held and i % 3 == 0):
            activity(e.learner_id, start + dt.timedelta(days=4))
        if not held:
            variant = a if i % 2 else b
            clicked = (i % 10 == 1) if variant == a else (i % 4 == 0)
            stamps: dict[str, Any] = {"sent_at": start}
            if clicked:
                stamps["clicked_at"] = start + dt.timedelta(hours=3)
            send(e, step, variant=variant, at=start, **stamps)
    return c, step, a, b


def results_url(c: Campaign) -> str:
    return reverse("admin:campaigns_campaignresult_results", args=[c.pk])


def test_viewers_see_the_results_and_outsiders_do_not(running):
    c = running[0]
    viewer = client_for(staff_user("vera", "Viewers"))
    page = viewer.get(results_url(c))
    assert page.status_code == 200
    text = page.content.decode()
    assert "The campaign brings more learners back." in text
    assert text.count('class="pygal-chart') == 3  # lift, daily curve, one A/B step
    assert 'role="img"' in text and "<script" not in text.split("<svg", 1)[1]
    assert "Variant B has a higher click rate than A." in text
    assert "Apply the winner" not in text  # viewers cannot change variants
    assert (
        "Results across campaigns"
        in viewer.get(reverse("admin:campaigns_campaignresult_changelist")).content.decode()
    )

    outsider = client_for(staff_user("otto"))
    assert outsider.get(results_url(c)).status_code == 403
    assert outsider.get(reverse("admin:campaigns_campaignresult_changelist")).status_code == 403


def test_the_campaign_page_and_list_link_to_the_results(running):
    c = running[0]
    c.status = Campaign.Status.ACTIVE
    c.save()
    editor = client_for(staff_user("eda", "Campaign editors"))
    change = editor.get(reverse("admin:campaigns_campaign_change", args=[c.pk])).content.decode()
    assert results_url(c) in change
    listing = editor.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert results_url(c) in listing


def test_exports_are_formula_safe_csv_and_xlsx(running):
    c = running[0]
    viewer = client_for(staff_user("vera", "Viewers"))
    csv = viewer.get(reverse("admin:campaigns_campaignresult_csv", args=[c.pk, "funnel"]))
    assert csv["Content-Type"].startswith("text/csv")
    rows = tablib.Dataset().load(csv.content.decode(), "csv").dict
    assert rows[0]["variant"] == "Treated" and int(rows[0]["enrolled"]) == 240
    lift_csv = viewer.get(reverse("admin:campaigns_campaignresult_csv", args=[c.pk, "lift"]))
    lift_rows = tablib.Dataset().load(lift_csv.content.decode(), "csv").dict
    assert lift_rows[0]["treated_successes"] == "80"

    xlsx = viewer.get(reverse("admin:campaigns_campaignresult_xlsx", args=[c.pk]))
    book = tablib.Databook().load(xlsx.content, "xlsx")
    assert [sheet.title for sheet in book.sheets()] == ["Lift", "Funnel", "AB", "Daily"]
    ab_rows = book.sheets()[2].dict
    assert ab_rows[0]["step"] == "1. Day 0"

    # A label that a spreadsheet would run as a formula is neutralized.
    Variant.objects.filter(step__campaign=c, label="A").update(label="=cmd|' /C calc'!A0")
    csv = viewer.get(reverse("admin:campaigns_campaignresult_csv", args=[c.pk, "ab"]))
    first = tablib.Dataset().load(csv.content.decode(), "csv").dict[0]
    assert first["variant"] == "'=cmd|' /C calc'!A0"
    assert viewer.get(f"{results_url(c)}export/nope.csv").status_code == 404


def test_an_editor_applies_the_winner_and_it_is_recorded(running):
    c, step, a, b = running
    editor = staff_user("eda", "Campaign editors")
    client = client_for(editor)
    url = reverse("admin:campaigns_campaignresult_apply_winner", args=[c.pk, step.pk])

    stale = client.post(url, {"variant": a.pk}, follow=True)
    assert "no longer name that variant" in stale.content.decode()
    assert not WinnerApplied.objects.exists()

    done = client.post(url, {"variant": b.pk}, follow=True)

    assert "Variant B of “1. Day 0” now goes to every learner not yet sent." in (
        done.content.decode()
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.weight, b.weight) == (0, 100)
    entry = WinnerApplied.objects.get()
    assert entry.applied_by == editor and entry.variant == b
    assert entry.figures["winner"] == "B"
    assert entry.figures["variants"][1]["clicked"]["n"] == 120
    assert "Winners applied" in done.content.decode()

    viewer = client_for(staff_user("vera", "Viewers"))
    assert viewer.post(url, {"variant": b.pk}).status_code == 403
    assert client.get(url).status_code == 405


def test_a_campaign_nobody_enrolled_in_says_so(db):
    c = campaign()
    page = client_for(staff_user("vera", "Viewers")).get(results_url(c)).content.decode()
    assert "No learner&#x27;s window has closed yet." in page or "No learner's window" in page
    assert Enrollment.objects.count() == 0
