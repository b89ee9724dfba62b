"""Treated against holdout: the difference of two proportions, honestly.

Everything here works on counts (learners and successes per arm), so it is tested directly
against published examples and simulations, and the database only has to count.

- **Fixed horizon** (every window closed): the difference with Newcombe's hybrid score
  interval (Newcombe 1998, method 10) from statsmodels' ``confint_proportions_2indep``, and the
  score test's p-value from ``test_proportions_2indep``.
- **Provisional** (windows still open, staff looking every day): an asymptotic confidence
  sequence, valid at every look at once (see :func:`confidence_sequence`).
- **Too few to tell**: below :data:`MIN_PER_ARM` learners with a final outcome in an arm, or
  fewer than :data:`MIN_EVENTS` successes or failures overall, the answer is "too few learners
  to tell yet" rather than a number that is mostly noise.
- **Sample-ratio mismatch**: a chi-square test (scipy) of the holdout's share against the
  campaign's ``holdout_percent``.
- **Minimum detectable effect** for the sample so far, at 80% power (statsmodels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

ALPHA = 0.05
POWER = 0.8
# Below these an interval is mostly noise: the normal approximations behind every method here
# want a few dozen per arm and some of each outcome.
MIN_PER_ARM = 30
MIN_EVENTS = 10
# The confidence sequence is tightest around this many learners in both arms together (the
# tuning parameter N of Waudby-Smith et al.; GrowthBook's default). Fixed in advance: a tuning
# chosen from the data would void the guarantee.
CS_TUNING = 5000
# A holdout share this unlikely under the configured split means assignment is broken
# (the threshold GrowthBook and others use for their SRM check).
SRM_P_VALUE = 0.001


@dataclass(frozen=True)
class Arm:
    """``n`` learners, ``successes`` of whom had the outcome."""

    n: int
    successes: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None


@dataclass(frozen=True)
class Interval:
    diff: float
    low: float
    high: float
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def too_few(a: Arm, b: Arm) -> bool:
    """True when the sample cannot answer yet (see :data:`MIN_PER_ARM`, :data:`MIN_EVENTS`)."""
    if min(a.n, b.n) < MIN_PER_ARM:
        return True
    successes = a.successes + b.successes
    failures = a.n + b.n - successes
    return min(successes, failures) < MIN_EVENTS


def newcombe(a: Arm, b: Arm, *, alpha: float = ALPHA) -> Interval:
    """``a.rate - b.rate`` with Newcombe's hybrid score interval and the score test's p-value."""
    low, high = confint_proportions_2indep(
        a.successes, a.n, b.successes, b.n, method="newcomb", compare="diff", alpha=alpha
    )
    # All-or-nothing arms divide zero by zero inside statsmodels; the p-value is then NaN.
    with np.errstate(invalid="ignore", divide="ignore"):
        test = test_proportions_2indep(
            a.successes, a.n, b.successes, b.n, method="score", compare="diff"
        )
    p_value = float(test.pvalue)
    if math.isnan(p_value):  # both arms all-or-nothing alike: no evidence either way
        p_value = 1.0
    return Interval(
        diff=a.successes / a.n - b.successes / b.n,
        low=float(low),
        high=float(high),
        p_value=p_value,
    )


def _rho(alpha: float, tuning: float) -> float:
    log_alpha = math.log(alpha)
    return math.sqrt((-2 * log_alpha + math.log(-2 * log_alpha + 1)) / tuning)


def _cs_halfwidth(s2: float, n: int, rho: float, alpha: float) -> float:
    r2n = n * rho * rho
    width = 2 * (r2n + 1) * math.log(math.sqrt(r2n + 1) / alpha) / (n * rho) ** 2
    return math.sqrt(s2) * math.sqrt(width)


def confidence_sequence(
    a: Arm, b: Arm, *, alpha: float = ALPHA, tuning: float = CS_TUNING
) -> Interval:
    """``a.rate - b.rate`` with a two-sided asymptotic confidence sequence.

    Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and
    asymptotic confidence sequences", Annals of Statistics 52(6), 2024 (arXiv:2103.06476),
    the normal-mixture boundary (their eq. 9) as GrowthBook ships it for sequential testing::

        halfwidth = sigma * sqrt( 2 (n rho^2 + 1) / (n^2 rho^2) * ln( sqrt(n rho^2 + 1) / alpha ) )
        rho       = sqrt( (-2 ln alpha + ln(-2 ln alpha + 1)) / N )

    with ``n = n_a + n_b``, ``sigma^2 = n (p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b)`` (the
    per-learner variance of the difference) and ``N`` = ``tuning``, the sample size around
    which the sequence is tightest. The interval holds at every ``n`` simultaneously with
    probability about ``1 - alpha``, so looking every day does not inflate false positives.

    The p-value is the always-valid one: the smallest ``alpha`` whose sequence excludes zero
    (``rho`` is always the one tuned at :data:`ALPHA`, so that a sequence at another level,
    and this p-value, stay the same family of boundaries).
    """
    n = a.n + b.n
    pa, pb = a.successes / a.n, b.successes / b.n
    diff = pa - pb
    s2 = n * (pa * (1 - pa) / a.n + pb * (1 - pb) / b.n)
    rho = _rho(ALPHA, tuning)
    half = _cs_halfwidth(s2, n, rho, alpha)
    return Interval(
        diff=diff,
        low=max(-1.0, diff - half),
        high=min(1.0, diff + half),
        p_value=_always_valid_p(abs(diff), s2, n, rho),
    )


def _always_valid_p(distance: float, s2: float, n: int, rho: float) -> float:
    if s2 == 0:
        return 1.0 if distance == 0 else 0.0

    def gap(level: float) -> float:
        return _cs_halfwidth(s2, n, rho, level) - distance

    if gap(1.0) >= 0:
        return 1.0
    if gap(1e-12) <= 0:
        return 1e-12
    return float(optimize.brentq(gap, 1e-12, 1.0, xtol=1e-12))


def minimum_detectable_effect(
    a: Arm, b: Arm, *, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest absolute difference from ``b``'s rate that this sample would detect with
    ``power`` at ``alpha`` (two-sided), by Cohen's h (statsmodels ``NormalIndPower``)."""
    if a.n == 0 or b.n == 0:
        return None
    h = NormalIndPower().solve_power(
        effect_size=None, nobs1=a.n, alpha=alpha, power=power, ratio=b.n / a.n
    )
    base = (a.successes + b.successes) / (a.n + b.n)
    angle = math.asin(math.sqrt(base)) + float(h) / 2
    return min(1.0, math.sin(min(angle, math.pi / 2)) ** 2) - base


@dataclass(frozen=True)
class SampleRatio:
    expected_share: float
    observed_share: float | None
    p_value: float | None

    @property
    def mismatch(self) -> bool:
        return self.p_value is not None and self.p_value < SRM_P_VALUE


def sample_ratio(*, treated: int, holdout: int, holdout_percent: int) -> SampleRatio:
    """Chi-square goodness of fit of the holdout's share against the configured one."""
    total = treated + holdout
    share = holdout_percent / 100
    if total == 0:
        return SampleRatio(expected_share=share, observed_share=None, p_value=None)
    observed = holdout / total
    if share in (0.0, 1.0):
        # No split to check: any holdout at all under 0% is a mismatch, none is fine.
        return SampleRatio(share, observed, 0.0 if observed != share else 1.0)
    result = stats.chisquare([treated, holdout], f_exp=[total * (1 - share), total * share])
    return SampleRatio(expected_share=share, observed_share=observed, p_value=float(result.pvalue))
