"""The locked-down template engine for what staff write: subjects, preheaders and bodies.

Staff write templates and learners write their own names, so neither may reach anything but the
flat dict of plain values below: no model instances, no attribute lookups, no ``load``,
``include``, ``extends``, ``|safe`` or ``autoescape off``. Templates are checked when staff save
them (:func:`validate_template`) and rendered by :func:`render_subject`, :func:`render_text`
and :func:`render_html`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, Origin, Token, Variable, tag_re
from django.template.defaultfilters import register as default_filters
from django.template.defaulttags import ForNode, WithNode
from django.template.defaulttags import register as default_tags
from django.utils.html import linebreaks

# Every variable a template may use, with what staff see next to the editor.
VARIABLES: dict[str, str] = {
    "first_name": "Learner's first name",
    "last_name": "Learner's last name",
    "full_name": "Learner's full name",
    "course_title": "The course they paused",
    "last_module": "Last module they completed",
    "next_module": "The module that comes next",
    "minutes_remaining": "Minutes left to finish the course",
    "percent_complete": "How far they got, e.g. 40",
    "manager_name": "Their manager's full name",
    "manager_first_name": "Their manager's first name",
    "finish_by": "A suggested date to finish by (a week from the email), e.g. Friday 4 December",
    "cta_label": "The button's label",
    "cta_url": "The tracked link behind the button",
    "incentive_title": "The incentive's title, e.g. Comeback badge",
    "incentive_description": "What the incentive is",
    "incentive_value": "The incentive's value, e.g. a code or a cohort name",
    "incentive_expires_on": "When the incentive expires",
    "campaign_name": "The campaign's name",
    "sender_name": "Who the email is from",
}

SAMPLE_CONTEXT: dict[str, str | int] = {
    "first_name": "Sam",
    "last_name": "Rivera",
    "full_name": "Sam Rivera",
    "course_title": "Data Protection Essentials",
    "last_module": "Module 2: Handling personal data",
    "next_module": "Module 3: Breach response",
    "minutes_remaining": 15,
    "percent_complete": 40,
    "manager_name": "Alex Chen",
    "manager_first_name": "Alex",
    "finish_by": "Friday 4 December",
    "cta_label": "Resume where you stopped",
    "cta_url": "https://lms.example.com/courses/dpe/module-3",
    "incentive_title": "Comeback badge",
    "incentive_description": "A badge on your profile for getting back on track",
    "incentive_value": "",
    "incentive_expires_on": "",
    "campaign_name": "Win back",
    "sender_name": "The Learning Team",
}

_ALLOWED_TAGS = ("comment", "if", "for", "firstof", "with")
_ALLOWED_FILTERS = (
    "capfirst",
    "default",
    "default_if_none",
    "first",
    "floatformat",
    "length",
    "lower",
    "pluralize",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "yesno",
)

# The only library the engine knows: a vetted copy of a few built-in tags and filters.
library = Library()
for _name in _ALLOWED_TAGS:
    library.tags[_name] = default_tags.tags[_name]
for _name in _ALLOWED_FILTERS:
    library.filters[_name] = default_filters.filters[_name]


class _LockedEngine(Engine):
    # Engine adds Django's full built-ins (load, include, safe …) unless told otherwise.
    default_builtins: list[str] = []


engine = _LockedEngine(libraries={}, debug=False)
engine.template_builtins = [library]


def _variables(obj: Any, depth: int = 0) -> Iterator[Variable]:
    """Every variable hanging off a node: its expressions, filter arguments and, for ``if``,
    the nested operator tree of its conditions."""
    if depth > 12 or obj is None or isinstance(obj, str | int | float | bool | Node):
        return
    # Tokens, origins, enums, classes and functions hold no template variables, and walking
    # them reaches into the type system: half a second per template, for nothing.
    if isinstance(obj, Token | Origin | enum.Enum | type) or callable(obj):
        return
    if isinstance(obj, Variable):
        yield obj
    elif isinstance(obj, FilterExpression):
        yield from _variables(obj.var, depth + 1)
        for _func, args in obj.filters:
            for _is_var, arg in args:
                yield from _variables(arg, depth + 1)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _variables(item, depth + 1)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _variables(item, depth + 1)
    elif hasattr(obj, "__dict__"):
        for item in vars(obj).values():
            yield from _variables(item, depth + 1)


def _names_defined_by(node: Node) -> set[str]:
    if isinstance(node, ForNode):
        return set(node.loopvars)
    if isinstance(node, WithNode):
        return set(node.extra_context)
    return set()


# Django's lexer reads a tag only when it opens and closes on one line; anything else is left as
# text and would reach the learner as a literal "{{ first_name", so it is refused instead.
_TAG_PAIRS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _unclosed_tag(source: str) -> str | None:
    for number, line in enumerate(source.splitlines(), start=1):
        rest = tag_re.sub("", line)
        for opener, closer in _TAG_PAIRS.items():
            if opener in rest:
                return f"“{opener}” on line {number} is not closed with “{closer}” on the same line"
    return None


@functools.lru_cache(maxsize=2048)
def _compile(source: str) -> Template:
    return engine.from_string(source)


def validate_template(source: str, *, field: str = "template") -> None:
    """Refuse a template that does not parse or reaches beyond the allowed variables.

    The message names the problem and, where it can, the line.
    """
    try:
        template = _compile(source)
    except TemplateSyntaxError as exc:
        message = str(exc).replace(" Did you forget to register or load this tag?", "")
        if "Invalid block tag" in message:
            message += " — only these tags may be used: " + ", ".join(_ALLOWED_TAGS)
        elif "Invalid filter" in message:
            message += " — only these filters may be used: " + ", ".join(_ALLOWED_FILTERS)
        raise ValidationError(f"{field}: {message}", code="template_syntax") from None
    unclosed = _unclosed_tag(source)
    if unclosed:
        raise ValidationError(f"{field}: {unclosed}", code="template_syntax")

    nodes = template.nodelist.get_nodes_by_type(Node)
    local_names: set[str] = set()
    for node in nodes:
        local_names |= _names_defined_by(node)
    problems: list[str] = []
    for node in nodes:
        for var in _variables(vars(node)):
            if var.lookups is None:
                continue  # a literal such as "yes" or 3
            name = var.lookups[0]
            if len(var.lookups) > 1:
                problems.append(
                    f"“{var.var}” looks inside a value; use plain names such as {{{{ {name} }}}}"
                )
            elif name not in VARIABLES and name not in local_names:
                problems.append(f"unknown variable “{name}”")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ValidationError(
            f"{field}: " + "; ".join(unique) + ". Available: " + ", ".join(VARIABLES),
            code="template_variable",
        )


class Values:
    """A message's values, checked once and ready for every template of that message (an
    email renders five or more: subject, preheader, script, text and HTML body)."""

    def __init__(self, values: Mapping[str, object]) -> None:
        flat: dict[str, str | int | float] = {}
        for key, value in values.items():
            if value is None:
                flat[key] = ""
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                flat[key] = value
            else:
                raise TypeError(f"template context value {key!r} must be plain text or a number")
        self.plain = Context(flat, autoescape=False)
        self.html = Context(flat, autoescape=True)


def _context(values: Mapping[str, object] | Values, *, autoescape: bool) -> Context:
    prepared = values if isinstance(values, Values) else Values(values)
    return prepared.html if autoescape else prepared.plain


def render_subject(source: str, values: Mapping[str, object] | Values) -> str:
    """A header line: no escaping (it is not HTML), and no CR/LF (header injection)."""
    rendered = _compile(source).render(_context(values, autoescape=False))
    return " ".join(rendered.split())


def render_text(source: str, values: Mapping[str, object] | Values) -> str:
    return _compile(source).render(_context(values, autoescape=False)).strip()


def render_html(source: str, values: Mapping[str, object] | Values) -> str:
    """The body as HTML paragraphs; every value is escaped."""
    rendered = _compile(source).render(_context(values, autoescape=True)).strip()
    # The rendered text is already escaped; linebreaks() only adds <p>/<br>.
    return linebreaks(rendered, autoescape=False)
