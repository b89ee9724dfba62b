"""The campaign builder in the admin, as staff see it: pages, previews, test sends and roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.building import blueprint
from campaigns.models import Campaign, Segment, Step
from learners.models import Learner
from tests.factories import (
    CampaignFactory,
    CourseFactory,
    CourseProgressFactory,
    LearnerFactory,
    SegmentFactory,
    StepFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> dt.datetime:
    # The admin asks the clock, so the learners' data is placed relative to it.
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def alice(db: None) -> User:
    """A superuser who builds and launches campaigns."""
    return User.objects.create_superuser("alice", "alice@example.com", "pw-for-tests")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def step_post_data(step: Step, **changes: Any) -> dict[str, Any]:
    data = {
        "campaign": step.campaign_id,
        "position": step.position,
        "name": step.name,
        "delay_days": step.delay_days,
        "delay_hours": step.delay_hours,
        "audience": step.audience,
        "subject": step.subject,
        "preheader": step.preheader,
        "body": step.body,
        "cta_label": step.cta_label,
        "cta_target": step.cta_target,
        "cta_url": step.cta_url,
        "incentive": step.incentive_id or "",
        "manager_subject": step.manager_subject,
        "manager_body": step.manager_body,
        "manager_script": step.manager_script,
        "variants-TOTAL_FORMS": 0,
        "variants-INITIAL_FORMS": 0,
        "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def launch_url(campaign: Campaign, action: str = "launch") -> str:
    return reverse("admin:campaigns_campaign_status", args=[campaign.pk, action])


# --- Segments ---------------------------------------------------------------------------


def test_the_segment_count_agrees_with_a_direct_query(alice: User) -> None:
    segment = SegmentFactory.create(min_inactive_days=30, max_inactive_days=59)
    LearnerFactory.create_batch(3, last_active_at=days_ago(31))
    LearnerFactory.create(last_active_at=days_ago(59), email="edge@example.com")
    LearnerFactory.create(last_active_at=days_ago(10), email="recent@example.com")
    LearnerFactory.create(last_active_at=days_ago(75), email="older@example.com")
    LearnerFactory.create(
        last_active_at=days_ago(40), unsubscribed_at=days_ago(1), email="u@example.com"
    )
    LearnerFactory.create(
        last_active_at=days_ago(40), suppressed_at=days_ago(1), email="s@example.com"
    )
    LearnerFactory.create(last_active_at=days_ago(40), sunset_at=days_ago(1), email="z@example.com")
    now = timezone.now()
    direct = Learner.objects.filter(
        last_active_at__lte=now - dt.timedelta(days=30),
        last_active_at__gt=now - dt.timedelta(days=60),
        unsubscribed_at__isnull=True,
        suppressed_at__isnull=True,
        sunset_at__isnull=True,
    ).count()

    page = text(client_for(alice).get(reverse("admin:campaigns_segment_change", args=[segment.pk])))

    assert direct == 4
    assert f"{direct} learners" in page
    assert "edge@example.com" in page
    for left_out in ("recent@", "older@", "u@example.com", "s@example.com", "z@example.com"):
        assert left_out not in page


def test_the_segment_form_stores_course_types_comma_separated(alice: User) -> None:
    response = client_for(alice).post(
        reverse("admin:campaigns_segment_add"),
        {
            "name": "Compliance 14+",
            "min_inactive_days": 14,
            "course_types": ["compliance", "onboarding"],
        },
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Compliance 14+").course_types == "compliance,onboarding"


# --- Campaigns --------------------------------------------------------------------------


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


# --- Steps: templates, preview, test send -----------------------------------------------


def test_saving_a_dangerous_template_shows_the_error_and_changes_nothing(alice: User) -> None:
    step = StepFactory.create(body="Hi {{ first_name }}")
    url = reverse("admin:campaigns_step_change", args=[step.pk])
    client = client_for(alice)
    for body, message in [
        ("Hi {% load static %}", "Invalid block tag on line 1: &#x27;load&#x27;"),
        ("Hi {{ first_name|safe }}", "Invalid filter: &#x27;safe&#x27;"),
        ("Hi {{ first_name.__class__ }}", "may not begin with underscores"),
        ("Hi {% include 'admin/base.html' %}", "&#x27;include&#x27;"),
    ]:
        response = client.post(url, step_post_data(step, body=body))
        assert response.status_code == 200
        assert message in text(response)
        step.refresh_from_db()
        assert step.body == "Hi {{ first_name }}"


def test_the_step_page_lists_the_available_variables(alice: User) -> None:
    step = StepFactory.create()
    page = text(client_for(alice).get(reverse("admin:campaigns_step_change", args=[step.pk])))
    assert "{{ first_name }}" in page and "Learner&#x27;s first name" in page
    assert "{{ minutes_remaining }}" in page


def preview_setup() -> tuple[Step, Learner]:
    segment = SegmentFactory.create(min_inactive_days=30, max_inactive_days=59)
    step = StepFactory.create(
        campaign=CampaignFactory.create(segment=segment),
        subject="{{ first_name }}, we saved your progress",
        body="Hi {{ first_name }}, {{ next_module }} is next.",
    )
    learner = LearnerFactory.create(
        first_name="Sam<b>", email="sam@example.com", last_active_at=days_ago(40)
    )
    CourseProgressFactory.create(
        learner=learner, course=CourseFactory.create(title="Data Protection")
    )
    return step, learner


def test_the_preview_shows_subject_html_and_text_for_a_chosen_learner(alice: User) -> None:
    step, learner = preview_setup()
    url = reverse("admin:campaigns_step_preview", args=[step.pk])
    page = text(client_for(alice).get(url, {"learner": learner.email, "audience": "learner"}))
    assert '<dd id="preview-subject">Sam&lt;b&gt;, we saved your progress</dd>' in page
    # The HTML part sits in a sandboxed iframe; the learner's name is escaped inside it.
    assert "<iframe" in page and "sandbox" in page
    assert "Hi Sam&amp;lt;b&amp;gt;, Module 3: Breach response is next." in page
    assert "Hi Sam&lt;b&gt;, Module 3: Breach response is next." in page  # the text part


def test_the_preview_picks_a_random_matching_learner(alice: User) -> None:
    step, _sam = preview_setup()
    page = text(client_for(alice).get(reverse("admin:campaigns_step_preview", args=[step.pk])))
    assert "sam@example.com" in page


def test_a_test_send_lands_in_the_outbox_with_the_right_subject_and_headers(alice: User) -> None:
    step, learner = preview_setup()
    response = client_for(alice).post(
        reverse("admin:campaigns_step_send_test", args=[step.pk]),
        {"learner": learner.pk, "audience": "learner", "variant": ""},
        follow=True,
    )
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "[Test] Sam<b>, we saved your progress"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert "Sent “[Test] Sam&lt;b&gt;, we saved your progress” to alice@example.com" in text(
        response
    )


# --- Roles: each one shows that the wrong person cannot do the thing --------------------


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
