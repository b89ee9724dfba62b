"""What saves, renders: a template that would fail for some learner is refused when saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from campaigns.content import templating
from campaigns.content.edge_values import LONG_TEXT, NON_ASCII, edge_contexts


def refusal(source: str) -> str:
    with pytest.raises(ValidationError) as exc:
        templating.validate_template(source, field="Body")
    return " ".join(exc.value.messages)


@pytest.mark.parametrize(
    ("source", "names"),
    [
        # A number is not a list: the loop fails for every learner.
        ("{% for m in minutes_remaining %}{{ m }}{% endfor %}", "'int' object is not iterable"),
        # Unpacking a name into two parts fails as soon as the name has a letter.
        ("{% for a, b in first_name %}{{ a }}{% endfor %}", "Need 2 values to unpack"),
        # Filters given an argument of the wrong kind.
        ("{{ first_name|yesno:minutes_remaining }}", "'int' object has no attribute 'split'"),
        ("{{ course_title|pluralize:percent_complete }}", "not iterable"),
        ("{{ minutes_remaining|first }}", "'int' object is not subscriptable"),
    ],
)
def test_it_refuses_a_template_that_fails_when_rendered(source: str, names: str) -> None:
    message = refusal(source)
    assert message.startswith("Body: cannot be rendered for ")
    assert names in message


def test_it_names_the_learner_a_template_fails_for() -> None:
    # Fine for the sample learner "Sam" (three letters): only a longer name reaches the loop.
    source = "{% if first_name|length > 3 %}{% for a, b in first_name %}{% endfor %}{% endif %}"
    message = refusal(source)
    assert "for a learner whose first_name is very long" in message


def test_it_finds_a_failure_that_only_an_empty_value_shows() -> None:
    # With a manager the sample renders; without one, the fallback is a number to loop over.
    source = (
        "{% if manager_name %}{{ manager_name }}{% else %}"
        "{% for x in minutes_remaining %}{{ x }}{% endfor %}{% endif %}"
    )
    assert "for a learner whose manager_name is empty" in refusal(source)


def test_it_accepts_templates_that_render_for_every_edge_value() -> None:
    templating.validate_template(
        "Hi {{ first_name|default:'there'|truncatechars:40 }}, {{ course_title|title }} "
        "{% for letter in first_name %}{{ letter|upper }}{% endfor %} "
        "{{ minutes_remaining }} minute{{ minutes_remaining|pluralize }} left, "
        "{{ percent_complete|floatformat:0 }}% done{% if manager_name %}, {{ manager_name }}"
        "{% endif %}."
    )


def test_every_used_variable_is_tried_empty_zero_missing_long_and_non_ascii() -> None:
    contexts = dict(edge_contexts(["first_name", "minutes_remaining"], {"first_name": "Sam"}))
    assert contexts["a learner whose first_name is empty"]["first_name"] == ""
    assert contexts["a learner whose first_name is zero"]["first_name"] == "0"
    assert "first_name" not in contexts["a learner whose first_name is missing"]
    assert contexts["a learner whose first_name is very long"]["first_name"] == LONG_TEXT
    assert contexts["a learner whose first_name is not plain ASCII"]["first_name"] == NON_ASCII
    assert contexts["a learner whose minutes_remaining is zero"]["minutes_remaining"] == 0
    assert contexts["a learner whose values are all very long"]["minutes_remaining"] == 1_000_000
    assert contexts["the sample learner"] == {"first_name": "Sam"}
