"""Bounds on rendering a staff template: loop rounds, output size and time.

Django's template engine has no limits of its own, and a few nested loops over a name or a
literal run for minutes. :func:`meter_loops` puts a counter into every ``for`` loop of a
compiled template; :func:`bounded_render` renders within a fresh budget and turns any failure
into :class:`RenderError` with a message staff can act on.
"""

from __future__ import annotations

import contextvars
import time

from django.template import Context, Template
from django.template.base import Node, NodeList
from django.template.defaulttags import ForNode

# Bounds on one render. Gmail clips a message past 102 KB, so no email needs more text; a loop
# needs no more rounds than a few hundred characters of a name or title, looped over twice.
MAX_SOURCE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000
MAX_LOOP_ROUNDS = 10_000
MAX_RENDER_SECONDS = 0.5
# floatformat's precision decides the length of its output; an email shows a few decimals.
MAX_FLOATFORMAT_DIGITS = 6


class RenderError(Exception):
    """A template could not be rendered for these values; the message says why."""


class RenderLimitExceeded(RenderError):
    """A template ran too long, looped too often or produced too much text."""


class _Budget:
    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.rounds = 0
        self.output = 0

    def count_round(self) -> None:
        self.rounds += 1
        if self.rounds > MAX_LOOP_ROUNDS:
            raise RenderLimitExceeded(
                f"its loops repeat more than {MAX_LOOP_ROUNDS:,} times; loop over fewer or "
                "shorter values"
            )
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(f"it takes longer than {MAX_RENDER_SECONDS} s to render")

    def count_output(self, length: int) -> None:
        self.output += length
        if self.output > MAX_OUTPUT_CHARS:
            raise RenderLimitExceeded(f"it produces more than {MAX_OUTPUT_CHARS:,} characters")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "template_budget", default=None
)


class _MeteredRound(Node):
    """One round of a ``for`` loop, counted against the render's budget before and after."""

    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        budget = _budget.get()
        if budget is None:
            return self.nodelist.render(context)
        budget.count_round()
        rendered = self.nodelist.render(context)
        # Nested loops count their output at every level: deep nesting meets the cap sooner.
        budget.count_output(len(rendered))
        return rendered


def meter_loops(template: Template) -> Template:
    """Count every round of every ``for`` loop in ``template`` (changed in place)."""
    for node in template.nodelist.get_nodes_by_type(ForNode):
        assert isinstance(node, ForNode) and isinstance(node.nodelist_loop, NodeList)
        node.nodelist_loop = NodeList([_MeteredRound(node.nodelist_loop)])
    return template


def bounded_render(template: Template, context: Context) -> str:
    """Render within the limits; any failure is a :class:`RenderError` that says why."""
    token = _budget.set(_Budget())
    try:
        rendered = template.render(context)
    except RenderError:
        raise
    except Exception as exc:  # a filter or loop given a value it cannot take
        raise RenderError(str(exc).strip() or type(exc).__name__) from exc
    finally:
        _budget.reset(token)
    if len(rendered) > MAX_OUTPUT_CHARS:
        raise RenderLimitExceeded(f"it produces more than {MAX_OUTPUT_CHARS:,} characters")
    return rendered
