"""A person new to the product builds and launches the blueprint campaign, in a real browser.

The walk: log in → New campaign from the blueprint → edit a step's subject → preview it →
try a dangerous template and see it refused → launch → the campaign is active.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from campaigns.models import Campaign
from tests.factories import CourseFactory, CourseProgressFactory, LearnerFactory, SegmentFactory

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "")


@pytest.fixture
def page() -> Iterator[Page]:
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # the test's own database calls as "async unsafe".
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()


def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


# One walk through the admin, as a newcomer clicks it: split, each part would need the
# pages the previous one left open.
def test_a_newcomer_builds_and_launches_the_blueprint_campaign(
    page: Page, live_server: Any
) -> None:
    User.objects.create_superuser("nora", "nora@example.com", "a-long-password-1")
    SegmentFactory.create(name="Inactive 30–59 days", min_inactive_days=30, max_inactive_days=59)
    learner = LearnerFactory.create(
        first_name="Sam", last_active_at=timezone.now() - dt.timedelta(days=40)
    )
    CourseProgressFactory.create(
        learner=learner, course=CourseFactory.create(title="Data Protection")
    )
    started = time.monotonic()

    # Log in.
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "nora")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("nora")

    # New campaign from the blueprint.
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.click("text=New campaign from the blueprint")
    page.fill("#id_name", "Win back Q4")
    page.select_option("#id_segment", label="Inactive 30–59 days")
    page.fill("#id_postal_address", "Example Corp, 1 Learning Way, Berlin")
    shot(page, "blueprint-form")
    page.click("text=Create draft campaign")
    expect(page.locator(".messagelist")).to_contain_text("as a draft with six steps")
    timeline = page.locator(".campaign-timeline")
    expect(timeline).to_contain_text("Day 0 · learner · We saved your progress")
    expect(timeline).to_contain_text("Day 7 · learner and manager · Manager nudge")
    expect(timeline).to_contain_text("Day 21 · learner · Final appeal")
    shot(page, "campaign-page")
    campaign_url = page.url

    # Edit the first step's subject.
    page.locator("#steps-group .inlinechangelink").first.click()
    page.fill("#id_subject", "{{ first_name }}, your spot in {{ course_title }} is saved")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    shot(page, "step-page")
    step_url = page.url

    # Preview it for a learner from the segment.
    page.click("text=Preview and test")
    expect(page.locator("#preview-subject")).to_have_text(
        "Sam, your spot in Data Protection is saved"
    )
    expect(page.frame_locator("iframe.preview-html").locator("body")).to_contain_text("Hi Sam")
    expect(page.locator("#preview-text")).to_contain_text("Hi Sam")
    shot(page, "preview")

    # A dangerous template is refused with a message that names the problem.
    page.goto(step_url)
    page.fill("#id_body", "Hi {{ first_name }} {% load static %}")
    page.click("input[name=_continue]")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-body .errorlist")).to_contain_text("'load'")
    page.fill("#id_body", "Hi {{ first_name|safe }}")
    page.click("input[name=_continue]")
    expect(page.locator(".field-body .errorlist")).to_contain_text("'safe'")
    shot(page, "refused-template")

    # Launch.
    page.goto(campaign_url)
    page.click("text=Launch campaign")
    expect(page.locator(".messagelist")).to_contain_text("“Win back Q4” launched.")
    expect(page.locator(".campaign-banner")).to_contain_text("Status: Active")

    campaign = Campaign.objects.get(name="Win back Q4")
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.steps.get(position=1).subject.startswith("{{ first_name }}, your spot")
    assert "load" not in campaign.steps.get(position=1).body
    # The whole walk, at machine speed, is far inside the five minutes a person gets.
    assert time.monotonic() - started < 60
