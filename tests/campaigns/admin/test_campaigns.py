"""The campaign admin: the blueprint, launch/pause/archive and duplicate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from campaigns.building import blueprint
from campaigns.models import Campaign
from tests.campaigns.admin.helpers import client_for, launch_url, text
from tests.factories import (
    CampaignFactory,
    SegmentFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


def test_new_campaign_from_the_blueprint_creates_a_draft_and_shows_its_timeline(
    alice: User,
) -> None:
    segment = SegmentFactory.create(name="Inactive 30–59 days")
    client = client_for(alice)
    assert "New campaign from the blueprint" in text(
        client.get(reverse("admin:campaigns_campaign_changelist"))
    )

    response = client.post(
        reverse("admin:campaigns_campaign_blueprint"),
        {
            "name": "Win back Q4",
            "segment": segment.pk,
            "from_name": "The Learning Team",
            "from_email": "learning@example.com",
            "postal_address": "Example Corp, Berlin",
        },
        follow=True,
    )

    campaign = Campaign.objects.get(name="Win back Q4")
    assert response.redirect_chain[-1][0] == reverse(
        "admin:campaigns_campaign_change", args=[campaign.pk]
    )
    page = text(response)
    assert "Created “Win back Q4” as a draft with six steps" in page
    assert "Day 0</span> · learner · <strong>We saved your progress" in page
    assert "Day 7</span> · learner and manager · <strong>Manager nudge" in page
    assert "Day 21</span> · learner · <strong>Final appeal" in page
    assert "A/B: A 50% / B 50%" in page


def test_launch_refuses_with_a_clear_message_and_changes_nothing(alice: User) -> None:
    campaign = CampaignFactory.create(from_email="")
    response = client_for(alice).post(launch_url(campaign), follow=True)
    page = text(response)
    assert "was not launched; nothing was changed" in page
    assert "The campaign has no steps; add at least one email." in page
    assert "No sender address" in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_launch_pause_and_archive_from_the_list(alice: User) -> None:
    ready = StepFactory.create().campaign
    broken = CampaignFactory.create(name="Broken")
    changelist = reverse("admin:campaigns_campaign_changelist")
    client = client_for(alice)

    # One bad campaign in the selection: nothing launches.
    response = client.post(
        changelist,
        {"action": "launch_selected", "_selected_action": [ready.pk, broken.pk]},
        follow=True,
    )
    assert "“Broken” was not launched; nothing was changed" in text(response)
    ready.refresh_from_db()
    assert ready.status == Campaign.Status.DRAFT

    for action, status in [
        ("launch_selected", "active"),
        ("pause_selected", "paused"),
        ("archive_selected", "archived"),
    ]:
        client.post(changelist, {"action": action, "_selected_action": [ready.pk]})
        ready.refresh_from_db()
        assert ready.status == status


def test_duplicate_opens_the_draft_copy(alice: User) -> None:
    campaign = blueprint.create_blueprint_campaign(
        name="Win back", segment=SegmentFactory.create(), now=timezone.now()
    )
    response = client_for(alice).post(
        reverse("admin:campaigns_campaign_duplicate", args=[campaign.pk]), follow=True
    )
    copy = Campaign.objects.get(name="Copy of Win back")
    assert copy.steps.count() == 6
    assert "Created “Copy of Win back” as a draft copy." in text(response)
