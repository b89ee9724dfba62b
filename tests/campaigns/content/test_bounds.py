"""Rendering is bounded: no template can hold a worker or the preview for seconds, or fill
memory with megabytes of text."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from campaigns.content import emails, render_limits, templating
from campaigns.models import Audience
from tests.factories import NOW, CourseProgressFactory, LearnerFactory, StepFactory

TEN = '"xxxxxxxxxx"'
# Ten to the eighth rounds if nothing stops it: minutes of a worker's time.
LOOP_BOMB = "".join(f"{{% for v{n} in {TEN} %}}" for n in range(8)) + "x" + "{% endfor %}" * 8


def refusal(source: str) -> str:
    with pytest.raises(ValidationError) as exc:
        templating.validate_template(source, field="Body")
    return " ".join(exc.value.messages)


def test_nested_loops_over_literals_are_refused_at_save_quickly() -> None:
    started = time.perf_counter()
    message = refusal(LOOP_BOMB)
    assert time.perf_counter() - started < 1
    assert "loops repeat more than 10,000 times" in message


def test_nested_loops_over_names_are_refused_for_a_learner_with_long_names() -> None:
    # Three letters times six is nothing; 300 characters times 300 is 90,000 rounds.
    message = refusal("{% for a in first_name %}{% for b in last_name %}.{% endfor %}{% endfor %}")
    assert "for a learner whose values are all very long" in message
    assert "loops repeat more than" in message


def test_a_loop_that_writes_too_much_is_refused() -> None:
    # 300 rounds of 300 characters, twice over: under the round limit, over the size limit.
    message = refusal(
        "{% for a in course_title %}{{ course_title }}{{ next_module }}{% endfor %}"
        "{% for a in course_title %}{{ course_title }}{{ next_module }}{% endfor %}"
    )
    assert "produces more than 100,000 characters" in message


def test_a_huge_floatformat_precision_is_refused() -> None:
    assert "floatformat takes a number of decimal places" in refusal(
        '{{ percent_complete|floatformat:"100000000" }}'
    )
    assert "floatformat takes" in refusal("{{ percent_complete|floatformat:minutes_remaining }}")
    templating.validate_template("{{ percent_complete|floatformat:2 }}")


def test_a_template_longer_than_an_email_is_refused() -> None:
    assert "at most 20,000 characters" in refusal("x" * 20_001)


def test_rendering_stops_a_runaway_template_that_was_stored_unchecked() -> None:
    started = time.perf_counter()
    with pytest.raises(templating.RenderLimitExceeded, match="loops repeat"):
        templating.render_html(LOOP_BOMB, templating.SAMPLE_CONTEXT)
    assert time.perf_counter() - started < 1


def test_rendering_stops_a_template_that_grows_too_big() -> None:
    huge = {**templating.SAMPLE_CONTEXT, "incentive_description": "y" * 2_000}
    with pytest.raises(templating.RenderLimitExceeded, match="more than 100,000 characters"):
        templating.render_text(
            "{% for a in incentive_description %}{{ incentive_description }}{% endfor %}", huge
        )


def test_rendering_stops_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_limits, "MAX_RENDER_SECONDS", 0.0)
    with pytest.raises(templating.RenderLimitExceeded, match="takes longer than"):
        templating.render_text("{% for a in first_name %}{{ a }}{% endfor %}", {"first_name": "S"})


@pytest.mark.django_db
def test_the_preview_of_a_runaway_step_answers_with_the_reason() -> None:
    learner = LearnerFactory.create()
    CourseProgressFactory.create(learner=learner)
    step = StepFactory.create(body=LOOP_BOMB)
    with pytest.raises(templating.RenderLimitExceeded):
        emails.render_preview(
            step=step, variant=None, audience=Audience.LEARNER, learner=learner, now=NOW
        )
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    started = time.perf_counter()
    response = client.get(
        reverse("admin:campaigns_step_preview", args=[step.pk]), {"learner": learner.pk}
    )
    assert time.perf_counter() - started < 2
    assert response.status_code == 200
    assert "This email cannot be rendered" in response.content.decode()
    assert "loops repeat more than 10,000 times" in response.content.decode()
