"""Who may do what in the builder: editor, approver, viewer, data importer; every page opens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.building import blueprint
from campaigns.models import Campaign
from tests.campaigns.admin.helpers import (
    client_for,
    launch_url,
    preview_setup,
    step_post_data,
    text,
)
from tests.factories import (
    StepFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


def test_an_editor_builds_campaigns_but_cannot_launch_them() -> None:
    erin = staff_user("erin", "Campaign editors")
    campaign = StepFactory.create().campaign
    client = client_for(erin)
    assert client.get(reverse("admin:campaigns_campaign_blueprint")).status_code == 200

    assert client.post(launch_url(campaign)).status_code == 403
    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "launch_selected", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "No action selected." in text(response)
    assert "Launch selected campaigns" not in text(response)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_an_approver_launches_but_cannot_edit_steps() -> None:
    abe = staff_user("abe", "Campaign approvers")
    step = StepFactory.create(subject="Original")
    client = client_for(abe)

    response = client.post(
        reverse("admin:campaigns_step_change", args=[step.pk]),
        step_post_data(step, subject="Changed by an approver"),
    )

    assert response.status_code == 403
    step.refresh_from_db()
    assert step.subject == "Original"
    assert client.get(reverse("admin:campaigns_campaign_blueprint")).status_code == 403
    client.post(launch_url(step.campaign))
    step.campaign.refresh_from_db()
    assert step.campaign.status == Campaign.Status.ACTIVE


def test_a_viewer_can_read_but_change_nothing() -> None:
    vera = staff_user("vera", "Viewers")
    step, learner = preview_setup()
    campaign = step.campaign
    client = client_for(vera)
    assert (
        client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:campaigns_step_preview", args=[step.pk])).status_code == 200

    forbidden = [
        client.post(launch_url(campaign)),
        client.post(reverse("admin:campaigns_campaign_duplicate", args=[campaign.pk])),
        client.get(reverse("admin:campaigns_campaign_blueprint")),
        client.post(
            reverse("admin:campaigns_step_change", args=[step.pk]),
            step_post_data(step, subject="Changed"),
        ),
        client.post(
            reverse("admin:campaigns_step_send_test", args=[step.pk]),
            {"learner": learner.pk, "audience": "learner"},
        ),
        client.post(reverse("admin:campaigns_segment_add"), {"name": "New"}),
    ]

    assert [r.status_code for r in forbidden] == [403] * len(forbidden)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert Campaign.objects.count() == 1
    assert mail.outbox == []


def test_a_data_importer_cannot_see_campaigns() -> None:
    ivan = staff_user("ivan", "Data importers")
    step = StepFactory.create()
    client = client_for(ivan)
    for url in [
        reverse("admin:campaigns_campaign_changelist"),
        reverse("admin:campaigns_campaign_change", args=[step.campaign_id]),
        reverse("admin:campaigns_step_preview", args=[step.pk]),
        reverse("admin:campaigns_segment_changelist"),
    ]:
        assert client.get(url).status_code == 403, url


def test_every_builder_page_opens(alice: User) -> None:
    campaign = blueprint.ensure_demo_campaign(now=timezone.now())
    step = campaign.steps.get(position=1)
    variant = step.variants.get(label="B")
    client = client_for(alice)
    urls = (
        [
            reverse(f"admin:campaigns_{model}_{view}")
            for model in ("campaign", "step", "variant", "segment", "incentive")
            for view in ("changelist", "add")
        ]
        + [
            reverse(f"admin:campaigns_{model}_changelist")
            for model in ("enrollment", "send", "surveyresponse")
        ]
        + [
            reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            reverse("admin:campaigns_segment_change", args=[campaign.segment_id]),
            reverse("admin:campaigns_step_change", args=[step.pk]),
            reverse("admin:campaigns_variant_change", args=[variant.pk]),
            reverse("admin:campaigns_step_preview", args=[step.pk]) + "?audience=manager",
        ]
    )
    for url in urls:
        assert client.get(url).status_code == 200, url
