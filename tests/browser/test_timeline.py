"""Why did she not get it? A staff member follows a learner's bounce from the ESP's webhook to
her timeline, reads why her address is suppressed, and lifts it with a reason — in a real
browser."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from campaigns.feedback import apply
from campaigns.models import Campaign, Send
from tests.browser.test_builder import page, shot  # noqa: F401 (the page fixture)
from tests.campaigns.feedback.conftest import ANYMAIL_SETTINGS, SECRETS, load, make_send
from tests.factories import CampaignFactory, LearnerFactory

pytestmark = pytest.mark.browser


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_staff_find_out_why_a_learner_got_no_email_and_lift_her_suppression(
    page: Page,  # noqa: F811
    live_server: Any,
) -> None:
    User.objects.create_superuser("nora", "nora@example.com", "a-long-password-1")
    campaign = CampaignFactory.create(name="Win back Q4", status=Campaign.Status.ACTIVE)
    fixture = load("postmark", "bounce")
    maya = LearnerFactory.create(first_name="Maya", email=fixture["body"]["Email"])
    first = make_send(learner=maya, campaign=campaign, esp_message_id=fixture["body"]["MessageID"])
    Send.objects.filter(pk=first.pk).update(subject="Maya, we saved your progress")
    later = make_send(learner=maya, campaign=campaign, status=Send.Status.SCHEDULED)
    Send.objects.filter(pk=later.pk).update(kind=Send.Kind.HANDOFF, step=None)

    # Postmark posts the bounce to the webhook; the next pass applies it.
    auth = base64.b64encode(SECRETS[0].encode()).decode()
    response = page.request.post(
        f"{live_server.url}/anymail/postmark/tracking/",
        data=json.dumps(fixture["body"]),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
    )
    assert response.status == 200
    apply.apply_pending(now=timezone.now())

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "nora")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/learners/learner/?q=maya")
    page.click("#result_list tbody a")
    page.click("text=Timeline: what was sent and why")
    expect(page.locator("#content-main")).to_contain_text("address suppressed (Hard bounce)")
    rows = page.locator("#timeline tbody")
    expect(rows).to_contain_text("Postmark: bounced")
    expect(rows).to_contain_text("5.1.1")
    expect(rows).to_contain_text("“Maya, we saved your progress”")
    expect(rows).to_contain_text("skipped: address suppressed")
    expect(page.locator("#timeline .timeline-flagged").first).to_be_visible()
    shot(page, "learner-timeline")

    page.click("text=Why this address is suppressed, and lift it")
    expect(page.locator("#content-main")).to_contain_text("does not exist")
    page.fill("#id_lift_reason", "She confirmed her new mailbox by phone")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text(
        f"The address {maya.email} may be mailed again."
    )
    page.goto(f"{live_server.url}/admin/campaigns/espevent/timeline/learner/{maya.pk}/")
    expect(page.locator("#timeline tbody")).to_contain_text("Suppression lifted by nora")
    expect(page.locator("#timeline tbody")).to_contain_text(
        "She confirmed her new mailbox by phone"
    )
    maya.refresh_from_db()
    assert maya.suppressed_at is None
