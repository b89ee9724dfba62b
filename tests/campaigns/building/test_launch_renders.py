"""The launch check renders every step and variant as saving does, and a test send of a step
that cannot be rendered says why instead of failing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from campaigns.building import services
from campaigns.models import Audience, Campaign
from tests.factories import (
    NOW,
    CourseProgressFactory,
    LearnerFactory,
    StepFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

LOOP_BOMB = "".join(f'{{% for v{n} in "xxxxxxxxxx" %}}' for n in range(6)) + "{% endfor %}" * 6


def launch_problems(campaign: Campaign) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        services.launch_campaign(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    return exc.value.messages


def test_launch_refuses_steps_and_variants_that_fail_for_some_learner() -> None:
    # Stored by a route that skipped the form: each would fail at delivery, for every learner.
    step = StepFactory.create(
        name="Welcome",
        position=1,
        body="{% for m in minutes_remaining %}{{ m }}{% endfor %}",
        audience=Audience.BOTH,
        manager_subject="{{ full_name }} paused",
        manager_body="Hi {{ manager_first_name }}",
        manager_script="{% for a, b in first_name %}{% endfor %}",
    )
    VariantFactory.create(step=step, label="B", subject="{{ minutes_remaining|first }}")
    VariantFactory.create(step=step, label="C", body=LOOP_BOMB)
    problems = launch_problems(step.campaign)
    assert any(
        p.startswith("Step 1 (Welcome), body: cannot be rendered for the sample learner")
        and "not iterable" in p
        for p in problems
    )
    assert any("manager script: cannot be rendered" in p and "unpack" in p for p in problems)
    assert any("variant B, subject: cannot be rendered" in p for p in problems)
    assert any("variant C, body" in p and "loops repeat more than" in p for p in problems)


def test_launch_accepts_a_step_that_renders_for_every_edge_value() -> None:
    step = StepFactory.create(body="Hi {{ first_name|default:'there' }}, {{ minutes_remaining }}")
    assert services.launch_campaign(campaign=step.campaign, now=NOW).status == "active"


def test_a_test_send_of_a_step_that_cannot_be_rendered_says_why() -> None:
    learner = LearnerFactory.create()
    CourseProgressFactory.create(learner=learner)
    step = StepFactory.create(body=LOOP_BOMB)
    with pytest.raises(ValidationError, match=r"cannot be rendered .*loops repeat"):
        services.send_test_email(
            step=step, variant=None, to="editor@example.com", learner=learner, now=NOW
        )
    assert mail.outbox == []
