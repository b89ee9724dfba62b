"""The locked-down template engine for what staff write: subjects, preheaders and bodies.

Staff write templates and learners write their own names, so neither may reach anything but the
flat dict of plain values below: no model instances, no attribute lookups, no ``load``,
``include``, ``extends``, ``|safe`` or ``autoescape off``. Templates are checked when staff save
them (:func:`validate_template`) and rendered by :func:`render_subject`, :func:`render_text`
and :func:`render_html`.

Saving renders the template against edge values of every variable it uses (see
:mod:`campaigns.content.edge_values`), so what saves also renders for every learner. Rendering
is bounded (:mod:`campaigns.content.render_limits`): loops count their rounds and output, and a
render that runs too long or grows too big stops with :class:`RenderLimitExceeded` instead of
holding a worker or the preview.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, Template, TemplateSyntaxError
from django.template.base import (
    FilterExpression,
    Node,
    Origin,
    Token,
    Variable,
    tag_re,
)
from django.template.defaultfilters import register as default_filters
from django.template.defaulttags import ForNode, WithNode
from django.template.defaulttags import register as default_tags
from django.utils.html import linebreaks

from campaigns.content import render_limits
from campaigns.content.edge_values import edge_contexts
from campaigns.content.render_limits import (
    MAX_FLOATFORMAT_DIGITS,
    MAX_SOURCE_CHARS,
    RenderError,
    RenderLimitExceeded,
)

__all__ = [
    "SAMPLE_CONTEXT",
    "VARIABLES",
    "RenderError",
    "RenderLimitExceeded",
    "Values",
    "find_link",
    "render_html",
    "render_subject",
    "render_text",
    "render_with_rows",
    "validate_template",
]

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
    "incentive_title": "The incentive's title, e.g. Comeback badge",
    "incentive_description": "What the incentive is",
    "incentive_value": "The incentive's value, e.g. a code or a cohort name",
    "incentive_expires_on": "When the incentive expires",
    "incentive_on_profile": "“yes” when awards are pushed to the learner's LMS profile, else "
    "empty: say “on your profile” only inside {% if incentive_on_profile %}",
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
    "incentive_title": "Comeback badge",
    "incentive_description": "A badge for getting back on track",
    "incentive_value": "",
    "incentive_expires_on": "",
    "incentive_on_profile": "",
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


def _expressions(obj: Any, depth: int = 0) -> Iterator[Variable | FilterExpression]:
    """Every variable and filter expression hanging off a node: its expressions, filter
    arguments and, for ``if``, the nested operator tree of its conditions."""
    if depth > 12 or obj is None or isinstance(obj, str | int | float | bool | Node):
        return
    # Tokens, origins, enums, classes and functions hold no template variables, and walking
    # them reaches into the type system: half a second per template, for nothing.
    if isinstance(obj, Token | Origin | enum.Enum | type) or callable(obj):
        return
    if isinstance(obj, Variable):
        yield obj
    elif isinstance(obj, FilterExpression):
        yield obj
        yield from _expressions(obj.var, depth + 1)
        for _func, args in obj.filters:
            for _is_var, arg in args:
                yield from _expressions(arg, depth + 1)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _expressions(item, depth + 1)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _expressions(item, depth + 1)
    elif hasattr(obj, "__dict__"):
        for item in vars(obj).values():
            yield from _expressions(item, depth + 1)


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
    return render_limits.meter_loops(engine.from_string(source))


# A link typed into the copy would reach the learner without the signed click redirect (mail
# clients turn a typed address into a link), and would be a second call to action.
_LINK_RE = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|\bwww\.|\bmailto:")


def find_link(text: str) -> str | None:
    """The start of a link typed into ``text`` (``https://``, ``www.``, ``mailto:``), or None."""
    match = _LINK_RE.search(text)
    return match.group(0) if match else None


def _syntax_problem(source: str) -> tuple[Template | None, str | None]:
    if len(source) > MAX_SOURCE_CHARS:
        return None, f"at most {MAX_SOURCE_CHARS:,} characters ({len(source):,} now)"
    try:
        template = _compile(source)
    except TemplateSyntaxError as exc:
        message = str(exc).replace(" Did you forget to register or load this tag?", "")
        if "Invalid block tag" in message:
            message += " — only these tags may be used: " + ", ".join(_ALLOWED_TAGS)
        elif "Invalid filter" in message:
            message += " — only these filters may be used: " + ", ".join(_ALLOWED_FILTERS)
        return None, message
    unclosed = _unclosed_tag(source)
    if unclosed:
        return None, unclosed
    return template, None


def _floatformat_problem(expression: FilterExpression) -> str | None:
    limit = MAX_FLOATFORMAT_DIGITS
    for func, args in expression.filters:
        if getattr(func, "_filter_name", "") != "floatformat" or not args:
            continue
        _is_var, arg = args[0]
        literal = arg.literal if isinstance(arg, Variable) else arg
        digits = "" if literal is None else str(literal).rstrip("gu")
        if not digits.lstrip("-").isdigit() or abs(int(digits)) > limit:
            return (
                f"floatformat takes a number of decimal places from -{limit} to {limit}, "
                "written out, e.g. floatformat:1"
            )
    return None


def _names_and_problems(template: Template) -> tuple[set[str], list[str]]:
    """The allowed variables a template uses, and what it uses that it may not."""
    nodes = template.nodelist.get_nodes_by_type(Node)
    local_names: set[str] = set()
    for node in nodes:
        local_names |= _names_defined_by(node)
    used: set[str] = set()
    problems: list[str] = []
    for node in nodes:
        for expression in _expressions(vars(node)):
            if isinstance(expression, FilterExpression):
                problems += filter(None, [_floatformat_problem(expression)])
                continue
            if expression.lookups is None:
                continue  # a literal such as "yes" or 3
            name = expression.lookups[0]
            if len(expression.lookups) > 1:
                problems.append(
                    f"“{expression.var}” looks inside a value; use plain names such as "
                    f"{{{{ {name} }}}}"
                )
            elif name == "cta_url":
                problems.append("the button is the email's one link; {{ cta_url }} cannot be used")
            elif name in VARIABLES:
                used.add(name)
            elif name not in local_names:
                problems.append(f"unknown variable “{name}”")
    return used, list(dict.fromkeys(problems))


def _render_problem(template: Template, names: set[str]) -> str | None:
    """Render for the sample learner and for edge values of every variable in use; the first
    failure, with the learner it stands for."""
    for who, values in edge_contexts(names, SAMPLE_CONTEXT):
        try:
            render_limits.bounded_render(template, Context(values, autoescape=False))
        except RenderError as exc:
            return f"cannot be rendered for {who}: {exc}"
    return None


def variables_used(source: str) -> set[str]:
    """The allowed variables a valid template uses (for channels that allow fewer)."""
    return _names_and_problems(_compile(source))[0]


def validate_template(source: str, *, field: str = "template") -> None:
    """Refuse a template that does not parse, reaches beyond the allowed variables, carries a
    link of its own, or fails or runs away for some learner's values.

    The message names the problem and, where it can, the line or the value.
    """
    template, syntax = _syntax_problem(source)
    if template is None:
        raise ValidationError(f"{field}: {syntax}", code="template_syntax")
    names, problems = _names_and_problems(template)
    if problems:
        message = f"{field}: " + "; ".join(problems)
        if any("variable" in p or "looks inside" in p for p in problems):
            message += ". Available: " + ", ".join(VARIABLES)
        raise ValidationError(message, code="template_variable")
    link = find_link(source)
    if link:
        raise ValidationError(
            f"{field}: “{link}” starts a link; the button is the email's one link, "
            "so the text cannot carry another",
            code="template_link",
        )
    failure = _render_problem(template, names)
    if failure:
        raise ValidationError(f"{field}: {failure}", code="template_render")


class Values:
    """A message's values, checked once and ready for every template of that message (an
    email renders five or more: subject, preheader, script, text and HTML body)."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.flat = _plain(values)
        self.plain = Context(self.flat, autoescape=False)


def _plain(values: Mapping[str, object]) -> dict[str, str | int | float]:
    flat: dict[str, str | int | float] = {}
    for key, value in values.items():
        if value is None:
            flat[key] = ""
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            flat[key] = value
        else:
            raise TypeError(f"template context value {key!r} must be plain text or a number")
    return flat


def render_with_rows(
    source: str,
    values: Mapping[str, object] | Values,
    rows: Sequence[Mapping[str, object]],
    *,
    html: bool,
) -> str:
    """A template that repeats over ``rows`` (``{% for row in rows %}``): the digest's table.

    The same locked engine and limits as staff copy; each row is a flat dict of plain values
    like the message's own. With ``html`` every value is HTML-escaped, names and links alike.
    """
    flat = values.flat if isinstance(values, Values) else _plain(values)
    context = Context({**flat, "rows": [_plain(row) for row in rows]}, autoescape=html)
    return render_limits.bounded_render(_compile(source), context).strip()


def _context(values: Mapping[str, object] | Values) -> Context:
    prepared = values if isinstance(values, Values) else Values(values)
    return prepared.plain


def render_subject(source: str, values: Mapping[str, object] | Values) -> str:
    """A header line: no escaping (it is not HTML), and no CR/LF (header injection)."""
    rendered = render_limits.bounded_render(_compile(source), _context(values))
    return " ".join(rendered.split())


def render_text(source: str, values: Mapping[str, object] | Values) -> str:
    return render_limits.bounded_render(_compile(source), _context(values)).strip()


def render_html(source: str, values: Mapping[str, object] | Values) -> str:
    """The body as HTML paragraphs. Everything is escaped, the values and the text staff typed
    alike: "Press <Save>" reads as typed, and no tag, link or image can come from the copy.
    Blank lines make paragraphs and single line breaks stay line breaks; nothing else is
    formatted."""
    return linebreaks(render_text(source, values), autoescape=True)
