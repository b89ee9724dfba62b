"""A/B variants of a step, compared with the step's first variant, under multiple comparisons.

Per variant, two rates of the step's goal, by assignment (every learner message created with
the variant counts, sent or not):

- **clicked**: the learner clicked the message's CTA (flagged bot clicks left out, see
  :mod:`campaigns.reports.funnel`);
- **reactivated after the step**: the learner was active after the message was created and
  within the campaign's goal window; counted only once that window has closed.

Each later variant is compared with the first (by label) with Newcombe's interval; the
p-values are corrected across the step's comparisons with Holm's method (statsmodels
``multipletests``), and the intervals are drawn at the Bonferroni level ``alpha / m`` that
Holm's first step uses, so the bars shown are simultaneous. A winner is named on the click
rate, the step's own goal, and only when its corrected interval excludes zero: the best
variant whose click rate is higher than the first's, or the first variant when every other
one is lower. Reactivation after the step is shown beside it as the slower, final check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statsmodels.stats.multitest import multipletests

from campaigns.models import Audience, Step
from campaigns.reports.funnel import FunnelRow
from campaigns.reports.lift import ALPHA, Arm, Interval, newcombe, too_few


@dataclass(frozen=True)
class Comparison:
    """A variant against the first: the interval at the corrected level, and Holm's p."""

    interval: Interval
    p_holm: float

    @property
    def significant(self) -> bool:
        return self.p_holm < ALPHA and self.interval.excludes_zero


@dataclass
class VariantResult:
    variant_id: int
    label: str
    weight: int
    click: Arm
    reactivation: Arm
    reactivation_open: int = 0
    click_vs_first: Comparison | None = None
    reactivation_vs_first: Comparison | None = None


@dataclass
class StepAB:
    step_id: int
    position: int
    name: str
    variants: list[VariantResult] = field(default_factory=list)
    winner: VariantResult | None = None
    verdict: str = ""


def compare_with_first(arms: list[Arm], *, alpha: float = ALPHA) -> list[Comparison | None]:
    """For each arm after the first: its comparison with the first, or None if too few.

    Holm's correction runs over the comparisons that could be made.
    """
    first = arms[0]
    possible = [i for i, arm in enumerate(arms[1:], start=1) if not too_few(arm, first)]
    out: list[Comparison | None] = [None] * (len(arms) - 1)
    if not possible:
        return out
    level = alpha / len(possible)
    intervals = {i: newcombe(arms[i], first, alpha=level) for i in possible}
    # The p-values come from the uncorrected tests; Holm adjusts them.
    raw = [newcombe(arms[i], first, alpha=alpha).p_value for i in possible]
    # Holm of one p-value is that p-value. Skipping the call then matters: statsmodels'
    # Holm runs gc.collect(), a quarter of a second in a web process full of objects.
    adjusted = raw if len(raw) == 1 else multipletests(raw, alpha=alpha, method="holm")[1]
    for i, p in zip(possible, adjusted, strict=True):
        out[i - 1] = Comparison(interval=intervals[i], p_holm=float(p))
    return out


def pick_winner(variants: list[VariantResult]) -> tuple[VariantResult | None, str]:
    """The winner on clicks, and a sentence saying why there is one or not."""
    if len(variants) < 2:
        return None, "One variant: nothing to compare."
    comparisons = [v.click_vs_first for v in variants[1:]]
    if any(c is None for c in comparisons):
        return None, "Too few learners to tell yet."
    better = [
        v
        for v in variants[1:]
        if v.click_vs_first and v.click_vs_first.significant and v.click_vs_first.interval.low > 0
    ]
    if better:
        best = max(better, key=lambda v: v.click.rate or 0.0)
        return best, f"Variant {best.label} has a higher click rate than {variants[0].label}."
    if all(c and c.significant and c.interval.high < 0 for c in comparisons):
        return variants[0], f"Every other variant has a lower click rate than {variants[0].label}."
    return None, "No clear difference yet."


def step_results(*, steps: list[Step], variant_rows: list[FunnelRow]) -> list[StepAB]:
    """The A/B results of every step with variants, from the funnel's per-variant rows."""
    learner_rows = {r.variant_id: r for r in variant_rows if r.audience == Audience.LEARNER}
    results = []
    for step in steps:
        variants = sorted(step.variants.all(), key=lambda v: (v.label, v.pk))
        if not variants:
            continue
        ab = StepAB(step_id=step.pk, position=step.position, name=str(step))
        for variant in variants:
            row = learner_rows.get(variant.pk)
            final = row.final if row else None
            total = row.total if row else None
            ab.variants.append(
                VariantResult(
                    variant_id=variant.pk,
                    label=variant.label,
                    weight=variant.weight,
                    click=Arm(total.messages, total.clicked) if total else Arm(0, 0),
                    reactivation=Arm(final.messages, final.reactivated_after)
                    if final
                    else Arm(0, 0),
                    reactivation_open=row.open.messages if row else 0,
                )
            )
        if len(ab.variants) > 1:
            clicks = compare_with_first([v.click for v in ab.variants])
            reacts = compare_with_first([v.reactivation for v in ab.variants])
            for v, c, r in zip(ab.variants[1:], clicks, reacts, strict=True):
                v.click_vs_first, v.reactivation_vs_first = c, r
        ab.winner, ab.verdict = pick_winner(ab.variants)
        results.append(ab)
    return results
