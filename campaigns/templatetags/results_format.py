"""Filters for the results pages: rates as percentages, differences as percentage points."""

from __future__ import annotations

from django import template

register = template.Library()


def _number(value: object) -> float | None:
    # A missing figure (no interval yet) reaches the filter as None or "".
    return float(value) if isinstance(value, int | float) else None


@register.filter
def percent(value: object) -> str:
    number = _number(value)
    return "–" if number is None else f"{number * 100:.1f}%"


@register.filter
def points(value: object) -> str:
    """A difference of two rates in percentage points, signed (−2.5 pts, +4.0 pts)."""
    number = _number(value)
    if number is None:
        return "–"
    return f"{number * 100:+.1f} pts".replace("-", "−")


@register.filter
def pvalue(value: object) -> str:
    number = _number(value)
    if number is None:
        return "–"
    return "< 0.0001" if number < 0.0001 else f"{number:.4f}"
