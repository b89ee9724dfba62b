"""Launch, pause, archive, duplicate and test sends: the rules the admin relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives

from campaigns.building import services
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Campaign, CtaTarget, Enrollment, Send, Step, Variant
from tests.campaigns.conftest import make_drip
from tests.factories import (
    NOW,
    CampaignFactory,
    CourseProgressFactory,
    LearnerFactory,
    StepFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def launch_problems(campaign: Campaign) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        services.launch_campaign(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT, "a refused launch changes nothing"
    assert campaign.launched_at is None
    return exc.value.messages


def test_it_launches_a_campaign_with_nothing_wrong() -> None:
    step = StepFactory.create()
    campaign = services.launch_campaign(campaign=step.campaign, now=NOW)
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.launched_at == NOW


def test_it_refuses_a_campaign_with_no_steps() -> None:
    assert launch_problems(CampaignFactory.create()) == [
        "The campaign has no steps; add at least one email."
    ]


def test_it_refuses_a_campaign_without_a_sender_or_postal_address() -> None:
    step = StepFactory.create(campaign=CampaignFactory.create(from_email="", postal_address=""))
    problems = launch_problems(step.campaign)
    assert "No sender address: fill in “From email”." in problems
    assert "No postal address: every email's footer must show one." in problems


def test_it_names_a_bad_template_stored_by_any_route() -> None:
    # Templates are checked on save in the admin; launch checks again for rows made otherwise.
    step = StepFactory.create(body="Hi {{ first_name|safe }}", name="Welcome", position=1)
    VariantFactory.create(step=step, label="B", subject="{{ learner.email }}")
    problems = launch_problems(step.campaign)
    assert any(p.startswith("Step 1 (Welcome), body:") and "'safe'" in p for p in problems)
    assert any("variant B, subject" in p and "learner.email" in p for p in problems)


def test_it_refuses_variant_weights_that_add_up_to_nothing() -> None:
    step = StepFactory.create()
    VariantFactory.create(step=step, label="A", weight=0)
    VariantFactory.create(step=step, label="B", weight=0)
    assert any("weights add up to 0" in p for p in launch_problems(step.campaign))


def test_it_refuses_a_url_cta_without_a_url_and_a_manager_step_without_manager_copy() -> None:
    campaign = CampaignFactory.create()
    StepFactory.create(campaign=campaign, position=1, cta_target=CtaTarget.URL, cta_url="")
    StepFactory.create(campaign=campaign, position=2, audience=Audience.BOTH)
    problems = launch_problems(campaign)
    assert any("Step 1" in p and "no URL is set" in p for p in problems)
    assert any("Step 2" in p and "no manager subject and body" in p for p in problems)


def test_it_lists_every_problem_at_once() -> None:
    campaign = CampaignFactory.create(from_email="", postal_address="", sending_weekdays="")
    assert len(launch_problems(campaign)) == 4


def test_pause_resume_and_archive_follow_the_status() -> None:
    campaign = StepFactory.create().campaign
    with pytest.raises(ValidationError, match="is draft and cannot be paused"):
        services.pause_campaign(campaign=campaign, now=NOW)
    services.launch_campaign(campaign=campaign, now=NOW)
    campaign = services.pause_campaign(campaign=campaign, now=NOW)
    assert campaign.status == Campaign.Status.PAUSED
    later = NOW.replace(day=5)
    campaign = services.launch_campaign(campaign=campaign, now=later)
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.launched_at == NOW, "resuming keeps the first launch"
    campaign = services.archive_campaign(campaign=campaign, now=NOW)
    assert campaign.status == Campaign.Status.ARCHIVED
    with pytest.raises(ValidationError, match="is archived and cannot be launched"):
        services.launch_campaign(campaign=campaign, now=NOW)


def test_duplicate_copies_steps_and_variants_as_a_draft() -> None:
    campaign = CampaignFactory.create(
        name="Win back", slug="win-back", status="active", launched_at=NOW
    )
    first = StepFactory.create(campaign=campaign, position=1, subject="One")
    StepFactory.create(campaign=campaign, position=2, subject="Two", delay_days=3)
    VariantFactory.create(step=first, label="A", weight=70)
    VariantFactory.create(step=first, label="B", weight=30, subject="One, shorter")

    copy = services.duplicate_campaign(campaign=campaign)
    again = services.duplicate_campaign(campaign=campaign)

    assert (copy.name, copy.slug, copy.status, copy.launched_at) == (
        "Copy of Win back",
        "copy-of-win-back",
        Campaign.Status.DRAFT,
        None,
    )
    assert again.slug == "copy-of-win-back-2"
    assert list(copy.steps.values_list("position", "subject", "delay_days")) == [
        (1, "One", 0),
        (2, "Two", 3),
    ]
    copied = Variant.objects.filter(step__campaign=copy).order_by("label")
    assert [(v.label, v.weight, v.subject) for v in copied] == [
        ("A", 70, ""),
        ("B", 30, "One, shorter"),
    ]
    # The original is untouched.
    assert Step.objects.filter(campaign=campaign).count() == 2
    assert Variant.objects.filter(step__campaign=campaign).count() == 2


def test_a_test_send_goes_to_the_staff_member_marked_as_a_test() -> None:
    learner = LearnerFactory.create(first_name="Sam")
    CourseProgressFactory.create(learner=learner)
    step = StepFactory.create(subject="{{ first_name }}, we saved your progress")
    variant = VariantFactory.create(step=step, label="B", subject="Pick up where you left off")

    services.send_test_email(
        step=step, variant=variant, to="editor@example.com", learner=learner, now=NOW
    )

    [message] = mail.outbox
    assert message.to == ["editor@example.com"]
    assert message.subject == "[Test] Pick up where you left off"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert isinstance(message, EmailMultiAlternatives)
    html = message.alternatives[0][0]
    assert isinstance(html, str)
    assert "Hi Sam" in html and "Hi Sam" in message.body


def test_a_test_send_needs_an_address() -> None:
    step = StepFactory.create()
    with pytest.raises(ValidationError, match="no email address"):
        services.send_test_email(
            step=step, variant=None, to="", learner=LearnerFactory.create(), now=NOW
        )
    assert mail.outbox == []


def test_archiving_frees_the_learners_and_skips_what_was_pending(drip: Campaign) -> None:
    learner = CourseProgressFactory.create(
        learner=LearnerFactory.create(last_active_at=NOW - dt.timedelta(days=40))
    ).learner
    run_pass(now=NOW)
    Send.objects.update(status=Send.Status.SCHEDULED)
    services.archive_campaign(campaign=drip, now=NOW + dt.timedelta(days=1))
    enrollment = Enrollment.objects.get(learner=learner)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "campaign archived")
    assert enrollment.ended_at == NOW + dt.timedelta(days=1)
    assert set(Send.objects.values_list("status", "skip_reason")) == {
        ("skipped", "campaign archived")
    }
    # The learner can now enter another campaign.
    follow_up = make_drip(slug="follow-up")
    run_pass(now=NOW + dt.timedelta(days=2))
    assert Enrollment.objects.get(campaign=follow_up).learner == learner
