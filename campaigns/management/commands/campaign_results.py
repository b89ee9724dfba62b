"""``manage.py campaign_results SLUG [--json] [--now ISO]``: the figures of the results page."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.management.commands.run_pass import parse_moment
from campaigns.models import Campaign
from campaigns.reports import exports
from campaigns.reports.results import Lift, campaign_results


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pts"


def lift_lines(title: str, result: Lift) -> list[str]:
    t, h, iv = result.treated, result.holdout, result.interval
    lines = [
        f"{title}: treated {t.successes}/{t.n} ({_percent(t.rate)}), "
        f"holdout {h.successes}/{h.n} ({_percent(h.rate)})"
    ]
    if iv is not None:
        lines.append(
            f"  difference {_points(iv.diff)}, 95% interval {_points(iv.low)} to "
            f"{_points(iv.high)} ({result.method}), p = {iv.p_value:.4f}"
        )
    lines.append(f"  {result.message}")
    return lines


class Command(BaseCommand):
    help = (
        "Print a campaign's results: reactivation against the holdout with its interval, "
        "module completion, the A/B steps and the funnel. --json prints every figure."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug", help="The campaign's slug.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--now", type=parse_moment, help="e.g. 2026-12-31T09:00:00Z")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            campaign = Campaign.objects.get(slug=options["slug"])
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign with the slug {options['slug']!r}.") from None
        now: dt.datetime = options["now"] or timezone.now()
        results = campaign_results(campaign=campaign, now=now)
        if options["json"]:
            self.stdout.write(json.dumps(exports.as_dict(results), indent=2))
            return
        lines = [
            f"{campaign.name} ({campaign.get_status_display()}) at {now:%Y-%m-%d %H:%M %Z}",
            f"Enrolled: {results.treated.enrolled} treated, {results.holdout.enrolled} holdout; "
            f"{results.treated.open + results.holdout.open} with the goal window still open.",
            *lift_lines("Reactivated", results.reactivation),
            *lift_lines("Completed a module", results.module_completion),
        ]
        if results.sample_ratio.mismatch:
            lines.append(
                f"Warning: the holdout is {_percent(results.sample_ratio.observed_share)} of "
                f"enrolled learners, not {campaign.holdout_percent}%: check the assignment."
            )
        for step in results.steps:
            lines.append(f"Step {step.name}: {step.verdict}")
            for v in step.variants:
                lines.append(
                    f"  {v.label} (weight {v.weight}): clicked {v.click.successes}/{v.click.n} "
                    f"({_percent(v.click.rate)}), reactivated after "
                    f"{v.reactivation.successes}/{v.reactivation.n}"
                )
        self.stdout.write("\n".join(lines))
