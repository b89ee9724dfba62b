"""The results as data: a JSON-ready dict (``campaign_results --json``), and tables for CSV and
XLSX exports, formula-safe like every export of the product."""

from __future__ import annotations

from typing import Any

import tablib

from campaigns.reports import ab, funnel, lift
from campaigns.reports.results import CampaignResults, Lift, OverviewLine
from learners.imports.widgets import neutralize_formula

TABLES = ("lift", "funnel", "ab", "daily")


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def arm_dict(arm: lift.Arm, outcome: str) -> dict[str, Any]:
    return {"n": arm.n, outcome: arm.successes, "rate": _round(arm.rate)}


def lift_dict(result: Lift, outcome: str) -> dict[str, Any]:
    iv = result.interval
    return {
        "treated": arm_dict(result.treated, outcome),
        "holdout": arm_dict(result.holdout, outcome),
        "diff": _round(iv.diff) if iv else None,
        "ci_low": _round(iv.low) if iv else None,
        "ci_high": _round(iv.high) if iv else None,
        "relative_lift": _round(result.relative_lift),
        "p_value": _round(iv.p_value, 8) if iv else None,
        "provisional": result.provisional,
        "method": result.method,
        "verdict": result.verdict,
        "message": result.message,
        "mde": _round(result.mde),
    }


def _comparison(c: ab.Comparison | None) -> dict[str, Any]:
    if c is None:
        return {"diff": None, "ci_low": None, "ci_high": None, "p_value": None}
    return {
        "diff": _round(c.interval.diff),
        "ci_low": _round(c.interval.low),
        "ci_high": _round(c.interval.high),
        "p_value": _round(c.p_holm, 8),
    }


def step_dict(step: ab.StepAB, *, provisional: bool) -> dict[str, Any]:
    return {
        "position": step.position,
        "name": step.name,
        "winner": step.winner.label if step.winner else None,
        "verdict": step.verdict,
        "variants": [
            {
                "label": v.label,
                "weight": v.weight,
                "clicked": {**arm_dict(v.click, "clicked"), **_comparison(v.click_vs_first)},
                "reactivated": {
                    **arm_dict(v.reactivation, "reactivated"),
                    **_comparison(v.reactivation_vs_first),
                    "window_open": v.reactivation_open,
                    "provisional": provisional,
                },
            }
            for v in step.variants
        ],
    }


def funnel_dict(row: funnel.FunnelRow) -> dict[str, Any]:
    return {
        "step": row.step,
        "variant": row.variant,
        "audience": row.audience,
        "final": vars(row.final).copy(),
        "window_open": vars(row.open).copy(),
    }


def as_dict(results: CampaignResults) -> dict[str, Any]:
    """Every figure of the results page, named for what it is."""
    c, srm = results.campaign, results.sample_ratio
    return {
        "campaign": {
            "slug": c.slug,
            "name": c.name,
            "status": c.status,
            "goal_window_days": c.goal_window_days,
            "holdout_percent": c.holdout_percent,
        },
        "now": results.now.isoformat(),
        "enrolled": {
            "treated": results.treated.enrolled,
            "holdout": results.holdout.enrolled,
            "window_open": results.treated.open + results.holdout.open,
        },
        "reactivation": lift_dict(results.reactivation, "reactivated"),
        "module_completion": lift_dict(results.module_completion, "completed"),
        "sample_ratio": {
            "expected_holdout_share": srm.expected_share,
            "observed_holdout_share": _round(srm.observed_share),
            "p_value": _round(srm.p_value, 8),
            "mismatch": srm.mismatch,
        },
        "steps": [step_dict(s, provisional=results.windows_open) for s in results.steps],
        "funnel": [
            funnel_dict(r)
            for r in (*results.campaign_rows, *results.step_rows, *results.variant_rows)
        ],
        "daily": [vars(p).copy() for p in results.daily],
    }


def overview_dict(lines: list[OverviewLine]) -> list[dict[str, Any]]:
    return [
        {
            "slug": line.campaign.slug,
            "name": line.campaign.name,
            "status": line.campaign.status,
            "enrolled": line.enrolled,
            "reactivation": lift_dict(line.reactivation, "reactivated"),
        }
        for line in lines
    ]


# Tables ---------------------------------------------------------------------------------------

COUNTS = [f.name for f in funnel.Counts.__dataclass_fields__.values()]


def _safe(row: list[Any]) -> list[Any]:
    return [neutralize_formula(value) for value in row]


def lift_table(results: CampaignResults) -> tablib.Dataset:
    data = tablib.Dataset(title="Lift")
    data.headers = [
        "outcome", "treated_n", "treated_successes", "treated_rate", "holdout_n",
        "holdout_successes", "holdout_rate", "diff", "ci_low", "ci_high", "relative_lift",
        "p_value", "provisional", "method", "verdict", "mde",
    ]  # fmt: skip
    for key, result in (("reactivated", results.reactivation),
                        ("completed a module", results.module_completion)):  # fmt: skip
        d = lift_dict(result, "successes")
        data.append(
            _safe(
                [
                    key,
                    d["treated"]["n"],
                    d["treated"]["successes"],
                    d["treated"]["rate"],
                    d["holdout"]["n"],
                    d["holdout"]["successes"],
                    d["holdout"]["rate"],
                    d["diff"],
                    d["ci_low"],
                    d["ci_high"],
                    d["relative_lift"],
                    d["p_value"],
                    d["provisional"],
                    d["method"],
                    d["message"],
                    d["mde"],
                ]
            )
        )
    return data


def funnel_table(results: CampaignResults) -> tablib.Dataset:
    data = tablib.Dataset(title="Funnel")
    data.headers = ["step", "variant", "audience", *COUNTS, *[f"{c}_window_open" for c in COUNTS]]
    for row in (*results.campaign_rows, *results.step_rows, *results.variant_rows):
        final, still_open = vars(row.final), vars(row.open)
        data.append(
            _safe(
                [
                    row.step,
                    row.variant,
                    row.audience,
                    *[final[c] for c in COUNTS],
                    *[still_open[c] for c in COUNTS],
                ]
            )
        )
    return data


def ab_table(results: CampaignResults) -> tablib.Dataset:
    data = tablib.Dataset(title="AB")
    data.headers = [
        "step", "variant", "weight", "winner", "metric", "n", "successes", "rate", "diff",
        "ci_low", "ci_high", "p_value_holm",
    ]  # fmt: skip
    for step in results.steps:
        for v in step.variants:
            for metric, arm, comparison in (
                ("clicked", v.click, v.click_vs_first),
                ("reactivated after the step", v.reactivation, v.reactivation_vs_first),
            ):
                c = _comparison(comparison)
                data.append(
                    _safe(
                        [
                            step.name,
                            v.label,
                            v.weight,
                            step.winner is v,
                            metric,
                            arm.n,
                            arm.successes,
                            _round(arm.rate),
                            c["diff"],
                            c["ci_low"],
                            c["ci_high"],
                            c["p_value"],
                        ]
                    )
                )
    return data


def daily_table(results: CampaignResults) -> tablib.Dataset:
    data = tablib.Dataset(title="Daily")
    data.headers = ["day", "treated_n", "treated_rate", "holdout_n", "holdout_rate"]
    for p in results.daily:
        data.append(
            [p.day, p.treated_n, _round(p.treated_rate), p.holdout_n, _round(p.holdout_rate)]
        )
    return data


BUILDERS = {"lift": lift_table, "funnel": funnel_table, "ab": ab_table, "daily": daily_table}


def csv_bytes(results: CampaignResults, table: str) -> bytes:
    """One table as CSV (a CSV file has one table)."""
    return str(BUILDERS[table](results).export("csv")).encode()


def xlsx_bytes(results: CampaignResults) -> bytes:
    """Every table, one sheet each."""
    book = tablib.Databook([builder(results) for builder in BUILDERS.values()])
    return bytes(book.export("xlsx"))
