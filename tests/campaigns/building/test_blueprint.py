"""The 6-email blueprint: timing, copy, incentives, the manager nudge, and the demo data."""

from __future__ import annotations

import re

import pytest

from campaigns.building import blueprint, services
from campaigns.content import emails, templating
from campaigns.models import Audience, Campaign, Incentive, Segment, Step
from tests.factories import NOW, CourseProgressFactory, LearnerFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def make(compressed: bool = False) -> Campaign:
    return blueprint.create_blueprint_campaign(
        name="Win back Q4",
        segment=SegmentFactory.create(),
        compressed=compressed,
        now=NOW,
        postal_address="Example Corp, 1 Learning Way, Berlin",
    )


def test_it_creates_a_draft_with_the_six_steps_of_the_seed_article() -> None:
    campaign = make()
    steps = list(campaign.steps.order_by("position"))
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.slug == "win-back-q4"
    assert [s.delay_days for s in steps] == [0, 3, 7, 10, 14, 21]
    assert [s.name for s in steps] == [
        "We saved your progress",
        "Next module",
        "Manager nudge",
        "Micro-incentive",
        "Cohort early access",
        "Final appeal",
    ]
    assert [s.cta_target for s in steps] == [
        "resume",
        "next_module",
        "resume",
        "resume",
        "resume",
        "resume",
    ]


def test_the_compressed_version_runs_the_same_steps_over_days_0_to_7() -> None:
    campaign = make(compressed=True)
    steps = list(campaign.steps.order_by("position"))
    assert [s.delay_days for s in steps] == [0, 1, 2, 4, 5, 7]
    assert len(steps) == 6
    assert campaign.goal_window_days == 14
    # Five emails fall within one week; a cap of three would stretch the drip back out.
    assert campaign.weekly_cap >= 5


def test_the_day_7_step_goes_to_learner_and_manager_with_a_script() -> None:
    step = make().steps.get(position=3)
    assert step.audience == Audience.BOTH
    assert step.manager_subject and step.manager_body
    assert "{{ last_module }}" in step.manager_script
    assert "{{ finish_by }}" in step.manager_script


def test_days_10_and_14_carry_a_badge_and_early_access() -> None:
    steps = {s.position: s for s in make().steps.select_related("incentive")}
    assert steps[4].incentive is not None and steps[4].incentive.kind == Incentive.Kind.BADGE
    assert steps[5].incentive is not None
    assert steps[5].incentive.kind == Incentive.Kind.EARLY_ACCESS
    # A second campaign reuses the same incentives rather than piling up copies.
    make()
    assert Incentive.objects.count() == 2


def test_day_0_tests_two_subject_lines() -> None:
    step = make().steps.get(position=1)
    variants = list(step.variants.order_by("label"))
    assert [(v.label, v.weight) for v in variants] == [("A", 50), ("B", 50)]
    assert variants[0].subject == "" and variants[1].subject


@pytest.mark.parametrize("compressed", [False, True])
def test_every_email_is_under_80_words_with_exactly_one_cta(compressed: bool) -> None:
    campaign = make(compressed=compressed)
    learner = LearnerFactory.create(first_name="Sam", last_name="Rivera")
    CourseProgressFactory.create(learner=learner)
    for step in campaign.steps.all():
        both = step.audience == Audience.BOTH
        audiences = [Audience.LEARNER, Audience.MANAGER] if both else [Audience.LEARNER]
        for audience in audiences:
            rendered = emails.render_preview(
                step=step, variant=None, audience=audience, learner=learner, now=NOW
            )
            content = emails.step_content(step, None, audience=audience)
            body = templating.render_text(content.body, templating.SAMPLE_CONTEXT)
            assert len(body.split()) < 80, (step.name, audience, len(body.split()))
            # The one CTA is the layout's button: the copy itself links nowhere.
            assert not re.search(r"https?://|www\.", content.body)
            assert rendered.html.count("display:inline-block;background:#3559e0") == 1
            assert "{{" not in rendered.text and "{%" not in rendered.text


def test_day_0_reads_well_for_a_learner_who_has_not_finished_a_module() -> None:
    step = make().steps.get(position=1)
    learner = LearnerFactory.create(first_name="Bruno")
    CourseProgressFactory.create(
        learner=learner, percent_complete=0, last_module="", next_module="Onboarding customers"
    )

    rendered = emails.render_preview(
        step=step, variant=None, audience=Audience.LEARNER, learner=learner, now=NOW
    )

    assert "0%" not in rendered.text
    assert "You finished" not in rendered.text
    assert "the button below opens Onboarding customers, the first step." in rendered.text


def test_the_blueprint_passes_launch_validation() -> None:
    campaign = make()
    assert services.campaign_problems(campaign) == []
    services.launch_campaign(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE


def test_without_a_postal_address_it_is_created_but_cannot_launch() -> None:
    campaign = blueprint.create_blueprint_campaign(
        name="No address", segment=SegmentFactory.create(), now=NOW
    )
    assert campaign.from_email == "learning@example.com"
    assert services.campaign_problems(campaign) == [
        "No postal address: every email's footer must show one."
    ]


def test_the_demo_campaign_is_created_once() -> None:
    first = blueprint.ensure_demo_campaign(now=NOW)
    second = blueprint.ensure_demo_campaign(now=NOW)
    assert first.pk == second.pk
    assert first.segment.name == "Inactive 30–59 days"
    assert Campaign.objects.count() == 1
    assert Step.objects.count() == 6
    assert set(Segment.objects.values_list("name", flat=True)) == {
        "Inactive 30–59 days",
        "Inactive 60–89 days",
        "Inactive 90+ days",
        "Compliance, inactive 14+ days (high risk)",
    }
    assert services.campaign_problems(first) == []
