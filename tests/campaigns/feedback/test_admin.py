"""What staff see: the learner's and the manager's timeline, why an address is suppressed (and
lifting it with a reason), and why a campaign paused itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from campaigns.feedback import apply
from campaigns.models import Campaign, DeliverabilityAlert, Send, SuppressedAddress
from learners.models import Learner
from tests.campaigns.feedback.conftest import make_send
from tests.campaigns.feedback.test_suppression import GMAIL_NO_SUCH_USER, bounce
from tests.factories import NOW, ActivityEventFactory, LearnerFactory, ManagerFactory, staff_user

pytestmark = pytest.mark.usefixtures("webhooks")


@pytest.fixture
def bounced(campaign: Campaign) -> Learner:
    """Maya: her day-0 email hard-bounced, her day-3 email was skipped for it."""
    maya = LearnerFactory.create(first_name="Maya", email="maya@example.com")
    first = make_send(learner=maya, campaign=campaign, esp_message_id="m-1")
    Send.objects.filter(pk=first.pk).update(subject="Maya, we saved your progress")
    later = make_send(learner=maya, campaign=campaign, status=Send.Status.SCHEDULED)
    Send.objects.filter(pk=later.pk).update(kind=Send.Kind.HANDOFF, step=None)
    ActivityEventFactory.create(learner=maya, occurred_at=NOW - dt.timedelta(days=40))
    bounce("maya@example.com", GMAIL_NO_SUCH_USER, send=first)
    apply.apply_pending(now=NOW)
    return maya


def test_the_learner_timeline_says_why_she_did_not_get_it(client: Client, bounced: Learner) -> None:
    client.force_login(staff_user("victor", "Viewers"))
    page = client.get(f"/admin/learners/learner/{bounced.pk}/change/")
    assert "Timeline: what was sent and why" in page.content.decode()
    response = client.get(f"/admin/campaigns/espevent/timeline/learner/{bounced.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "address suppressed (Hard bounce)" in text
    assert "“Maya, we saved your progress” to maya@example.com" in text
    assert "skipped: address suppressed" in text
    assert "Postmark: bounced" in text and "5.1.1" in text
    assert "Address suppressed: Hard bounce" in text
    assert "LMS: " in text


def test_the_timeline_is_for_staff_who_may_read_sends(client: Client, bounced: Learner) -> None:
    client.force_login(staff_user("olga", "Data importers"))
    response = client.get(f"/admin/campaigns/espevent/timeline/learner/{bounced.pk}/")
    assert response.status_code == 403


def test_the_manager_page_shows_their_nudges(client: Client, campaign: Campaign) -> None:
    manager = ManagerFactory.create(email="boss@example.com")
    learner = LearnerFactory.create(manager=manager)
    nudge = make_send(learner=learner, campaign=campaign, audience="manager")
    bounce("boss@example.com", GMAIL_NO_SUCH_USER, send=nudge)
    apply.apply_pending(now=NOW)
    client.force_login(staff_user("victor", "Viewers"))
    assert (
        "Timeline" in client.get(f"/admin/learners/manager/{manager.pk}/change/").content.decode()
    )
    text = client.get(f"/admin/campaigns/espevent/timeline/manager/{manager.pk}/").content.decode()
    assert "nudges stopped" in text and "Address suppressed: Hard bounce" in text


def test_staff_see_why_an_address_is_suppressed_and_lift_it_with_a_reason(
    client: Client, bounced: Learner
) -> None:
    row = SuppressedAddress.objects.get()
    user = staff_user("root", "Campaign approvers")
    user.is_superuser = True
    user.save()
    client.force_login(user)
    url = f"/admin/campaigns/suppressedaddress/{row.pk}/change/"
    page = client.get(url).content.decode()
    assert "maya@example.com" in page and "5.1.1" in page and "does not exist" in page
    response = client.post(url, {"lift_reason": "Her mailbox works again"}, follow=True)
    assert "The address maya@example.com may be mailed again." in response.content.decode()
    row.refresh_from_db()
    bounced.refresh_from_db()
    assert row.lift_reason == "Her mailbox works again" and row.lifted_by == user
    assert bounced.suppressed_at is None


def test_the_campaign_page_shows_why_it_paused_itself(client: Client, campaign: Campaign) -> None:
    DeliverabilityAlert.objects.create(
        campaign=campaign,
        kind="complaint_rate",
        level="paused",
        message="Complaint rate 0.40% (4 of 1000 emails sent in the last 7 days)",
        created_at=NOW,
    )
    client.force_login(staff_user("victor", "Viewers"))
    text = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Deliverability alerts (why the campaign paused itself)" in text
    assert "Complaint rate 0.40% (4 of 1000" in text
