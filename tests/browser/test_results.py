"""A viewer opens a campaign's results in a real browser: the charts are drawn, each with its
numbers in a table beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.test_builder import page, shot  # noqa: F401 (the browser fixture)
from tests.campaigns.reports.conftest import activity, campaign, enroll, send
from tests.factories import StepFactory, VariantFactory

pytestmark = pytest.mark.browser


def test_a_viewer_reads_the_results_page_with_its_charts(page: Page, live_server: Any) -> None:  # noqa: F811
    # A viewer by permission: a browser test's database is flushed, the roles' groups with it.
    user = User.objects.create_user("vera", "vera@example.com", "a-long-password-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_results"))
    c = campaign(name="Win back Q4", holdout_percent=30, goal_window_days=14)
    step = StepFactory.create(campaign=c, position=1, name="Day 0")
    a = VariantFactory.create(step=step, label="A")
    b = VariantFactory.create(step=step, label="B")
    start = timezone.now() - dt.timedelta(days=20)
    # Enrolled from 20 to 8 days ago: about half the 14-day windows have closed.
    for i in range(400):
        held = i % 10 < 3
        e = enroll(c, holdout=held, at=start + dt.timedelta(hours=i * 0.72))
        if (not held and i % 2 == 0) or (held and i % 10 == 0):
            activity(e.learner_id, start + dt.timedelta(days=i % 9 + 1))
        if not held:
            stamps = {"sent_at": start} if i % 4 else {"sent_at": start, "clicked_at": start}
            send(e, step, variant=a if i % 2 else b, at=start, **stamps)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/campaigns/campaignresult/")
    expect(page.locator("#programme-overview")).to_contain_text("Win back Q4")
    page.click("text=Win back Q4")

    expect(page.locator("h1")).to_contain_text("Results: Win back Q4")
    expect(page.locator(".results-provisional")).to_be_visible()  # some windows still open
    for chart in ("#lift-chart", "#daily-chart"):
        svg = page.locator(f"{chart} svg[role=img]")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
    # The daily curve has one line per arm; the lift bar and A/B bars are drawn.
    assert page.locator("#daily-chart svg path.line").count() >= 2
    assert page.locator("#lift-chart svg .bar rect").count() >= 1
    ab = page.locator("#ab-step-1")
    expect(ab.locator("svg[role=img]")).to_be_visible()
    assert ab.locator("svg .bar rect").count() >= 4  # two metrics for each of two variants
    expect(page.locator("#lift-table")).to_contain_text("Treated")
    expect(page.locator("#daily-table tbody tr")).to_have_count(15)
    expect(page.locator("#funnel-table")).to_contain_text("Whole campaign")
    shot(page, "results-page")
