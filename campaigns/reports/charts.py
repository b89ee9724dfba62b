"""The results page's charts, drawn on the server as SVG with pygal (no script, no CDN).

Each chart is an image with a text label; the page puts its numbers in a table beside it, so
a screen reader gets the same figures. Values are percentages (or percentage points).
"""

from __future__ import annotations

import math
import re

from django.utils.safestring import SafeString, mark_safe
from pygal import Bar, HorizontalBar, Line
from pygal.style import Style
from statsmodels.stats.proportion import proportion_confint

from campaigns.reports.ab import StepAB
from campaigns.reports.lift import Arm
from campaigns.reports.results import DayPoint, Lift

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#888",
    colors=("#417690", "#c4742e", "#5b8a3c", "#8a3c6d"),
    font_family="-apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=14,
)
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
# js=[]: pygal otherwise links its tooltip script from a CDN.
COMMON = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "height": 320,
    "width": 720,
    "explicit_size": False,
    "legend_at_bottom": True,
    "print_values": False,
}


def _svg(chart: Bar | HorizontalBar | Line, label: str, css_class: str) -> SafeString:
    # pygal builds the SVG with an XML library, which escapes every label and title. Its
    # inline config script only feeds the tooltips it would load from a CDN: dropped.
    svg = SCRIPT.sub("", str(chart.render(is_unicode=True)))
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" ', 1)
    svg = svg.replace('class="pygal-chart"', f'class="pygal-chart {css_class}"', 1)
    return mark_safe(svg)  # noqa: S308 (pygal output, labels escaped)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def daily_chart(points: list[DayPoint]) -> SafeString:
    """Cumulative share reactivated by day since enrolling, treated against holdout."""
    chart = Line(
        **COMMON,
        title="Reactivated by day since enrolling (%)",
        x_title="Days since enrolling",
        show_dots=False,
        x_labels_major_every=7,
        show_minor_x_labels=False,
        range=(0, 100),
    )
    chart.x_labels = [str(p.day) for p in points]
    chart.add("Treated", [_pct(p.treated_rate) for p in points])
    chart.add("Holdout", [_pct(p.holdout_rate) for p in points])
    return _svg(chart, "Cumulative reactivation by day, treated and holdout", "chart-daily")


def lift_chart(result: Lift) -> SafeString:
    """The difference in percentage points with its interval (a bar with an error bar)."""
    iv = result.interval
    low, high = (iv.low, iv.high) if iv is not None else (-0.05, 0.05)
    # Zero and the whole interval in view, so the error bar shows where zero falls.
    span = (math.floor(min(low, 0) * 100) - 2, math.ceil(max(high, 0) * 100) + 2)
    chart = HorizontalBar(
        **{**COMMON, "height": 180}, title="Treated minus holdout (points)", range=span
    )
    if iv is not None:
        chart.add(
            "Difference",
            [{"value": _pct(iv.diff), "ci": {"low": _pct(iv.low), "high": _pct(iv.high)}}],
        )
    else:
        chart.add("Difference", [None])
    return _svg(chart, "Lift against the holdout with its interval", "chart-lift")


def _wilson(arm: Arm) -> dict[str, object]:
    if not arm.n:
        return {"value": None}
    low, high = proportion_confint(arm.successes, arm.n, alpha=0.05, method="wilson")
    return {
        "value": _pct(arm.rate),
        "ci": {"low": _pct(float(low)), "high": _pct(float(high))},
    }


def ab_chart(step: StepAB) -> SafeString:
    """Each variant's click rate and reactivation-after-the-step rate, with 95% Wilson
    intervals; the table beside it has the comparisons with Holm's correction."""
    chart = Bar(**COMMON, title=f"{step.name}: rates by variant (%)")
    chart.x_labels = ["Clicked", "Reactivated after the step"]
    for v in step.variants:
        chart.add(f"Variant {v.label}", [_wilson(v.click), _wilson(v.reactivation)])
    return _svg(chart, f"A/B rates of {step.name} by variant", "chart-ab")
