"""The locked-down template engine: what staff may write, and what learners' names can do."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from campaigns.building.forms import StepForm
from campaigns.content import emails, templating
from campaigns.models import Audience
from tests.factories import NOW, CourseProgressFactory, LearnerFactory, StepFactory


def refusal(source: str) -> str:
    with pytest.raises(ValidationError) as exc:
        templating.validate_template(source, field="Body")
    return " ".join(exc.value.messages)


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("{{ first_name.__class__ }}", "underscores"),
        ("{{ first_name.upper }}", "“first_name.upper” looks inside a value"),
        ("{{ course_title.__init__.__globals__ }}", "underscores"),
        ("{% load static %}", "'load'"),
        ("{% include 'admin/base.html' %}", "'include'"),
        ("{% extends 'admin/base.html' %}", "'extends'"),
        ("{% ssi '/etc/passwd' %}", "'ssi'"),
        ("{{ first_name|safe }}", "'safe'"),
        ("{% autoescape off %}{{ first_name }}{% endautoescape %}", "'autoescape'"),
        ("{% debug %}", "'debug'"),
        ("{% for c in first_name %}{{ c.x }}{% endfor %}", "“c.x” looks inside a value"),
    ],
)
def test_it_refuses_templates_that_reach_beyond_plain_values(source: str, names: str) -> None:
    message = refusal(source)
    assert message.startswith("Body: ")
    assert names in message


def test_it_refuses_an_unknown_variable_and_lists_the_known_ones() -> None:
    message = refusal("Hi {{ first_nme }}")
    assert "unknown variable “first_nme”" in message
    assert "Available: first_name" in message


def test_it_refuses_a_syntax_error_and_names_the_line() -> None:
    assert "line 2" in refusal("Hi {{ first_name }}\n{% if first_name %}no end")
    assert "if tag" in refusal("{% if %}{% endif %}")


def test_it_refuses_a_tag_left_open() -> None:
    message = refusal("Hi {{ first_name\nThanks")
    assert "“{{” on line 1 is not closed" in message


def test_it_names_the_tags_and_filters_that_are_allowed() -> None:
    assert "only these tags may be used: comment, if, for" in refusal("{% load static %}")
    assert "only these filters may be used: capfirst" in refusal("{{ first_name|safe }}")


def test_it_accepts_plain_variables_tags_and_filters() -> None:
    templating.validate_template(
        "Hi {{ first_name|default:'there' }}, {% if minutes_remaining %}{{ minutes_remaining }}"
        " min{{ minutes_remaining|pluralize }}{% endif %} {% with m=manager_first_name %}{{ m }}"
        "{% endwith %}"
    )


@pytest.mark.django_db
def test_the_step_form_attaches_the_refusal_to_the_field() -> None:
    step = StepFactory.create()
    form = StepForm(
        instance=step,
        data={
            "campaign": step.campaign_id,
            "position": step.position,
            "delay_days": 0,
            "delay_hours": 0,
            "audience": Audience.LEARNER,
            "subject": "{{ first_name }}",
            "body": "Hi {% load static %}",
            "cta_label": "Resume",
            "cta_target": "resume",
            "manager_script": "{{ first_name|safe }}",
        },
    )
    assert not form.is_valid()
    assert "'load'" in form.errors["body"][0]
    assert "'safe'" in form.errors["manager_script"][0]
    assert "subject" not in form.errors


@pytest.mark.django_db
def test_a_learner_name_with_html_comes_out_escaped_in_the_html_part() -> None:
    learner = LearnerFactory.create(
        first_name='<script>alert("x")</script>', last_name="<b>Bold</b>"
    )
    CourseProgressFactory.create(learner=learner)
    step = StepFactory.create(body="Hi {{ first_name }} {{ full_name }}, see {{ course_title }}.")
    rendered = emails.render_preview(
        step=step, variant=None, audience=Audience.LEARNER, learner=learner, now=NOW
    )
    assert "<script>" not in rendered.html
    assert "<b>Bold</b>" not in rendered.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in rendered.html
    # The text part is plain text: the name as written, nothing to escape.
    assert '<script>alert("x")</script>' in rendered.text


def test_a_subject_never_carries_a_line_break_into_the_header() -> None:
    subject = templating.render_subject(
        "Hi {{ first_name }}", {"first_name": "Sam\r\nBcc: victim@example.com"}
    )
    assert "\n" not in subject and "\r" not in subject


def test_only_plain_values_reach_a_template() -> None:
    with pytest.raises(TypeError):
        templating.render_text("{{ first_name }}", {"first_name": object()})


def test_it_finds_variables_deep_inside_conditions_and_arguments() -> None:
    assert "unknown variable “secret”" in refusal("{% if first_name and not secret %}x{% endif %}")
    assert "“a.b” looks inside" in refusal("{% with x=a.b %}{{ x }}{% endwith %}")
    assert "unknown variable “y”" in refusal("{{ first_name|default:y }}")


def test_checking_a_template_is_fast() -> None:
    # Staff save a step with seven templates; checking them must not keep the page waiting.
    started = time.perf_counter()
    for n in range(50):
        templating.validate_template(
            f"{{% if first_name %}}Hi {{{{ first_name }}}} {n}{{% endif %}}"
        )
    assert time.perf_counter() - started < 1
