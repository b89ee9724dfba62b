"""A campaign's results in one object: the arms, the lift, the daily curve, the funnel and
the A/B steps, computed in two grouped queries whatever the number of learners.

:func:`campaign_results` is what the admin page, the exports and ``campaign_results`` show;
:func:`programme_overview` is the same headline for every campaign.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from campaigns.models import Campaign, Step
from campaigns.reports import ab, funnel, lift, outcomes


@dataclass
class ArmCounts:
    """One arm (treated or holdout) by assignment."""

    enrolled: int = 0
    final: int = 0
    reactivated: int = 0
    completed: int = 0
    open: int = 0
    reactivated_open: int = 0
    completed_open: int = 0
    sunset: int = 0


@dataclass
class Lift:
    """Treated against holdout on one outcome."""

    outcome: str
    treated: lift.Arm
    holdout: lift.Arm
    provisional: bool
    verdict: str
    message: str
    interval: lift.Interval | None = None
    method: str = ""
    mde: float | None = None

    @property
    def relative_lift(self) -> float | None:
        base = self.holdout.rate
        if self.interval is None or not base:
            return None
        return self.interval.diff / base


@dataclass
class DayPoint:
    day: int
    treated_n: int
    treated_rate: float | None
    holdout_n: int
    holdout_rate: float | None


@dataclass
class CampaignResults:
    campaign: Campaign
    now: dt.datetime
    treated: ArmCounts
    holdout: ArmCounts
    reactivation: Lift
    module_completion: Lift
    sample_ratio: lift.SampleRatio
    daily: list[DayPoint]
    campaign_rows: list[funnel.FunnelRow] = field(default_factory=list)
    step_rows: list[funnel.FunnelRow] = field(default_factory=list)
    variant_rows: list[funnel.FunnelRow] = field(default_factory=list)
    steps: list[ab.StepAB] = field(default_factory=list)

    @property
    def windows_open(self) -> bool:
        return self.treated.open + self.holdout.open > 0


ARM_SELECT = """
    SELECT 'arm', CASE WHEN o.is_holdout THEN 1 ELSE 0 END, o.window_open, o.observed_days,
           o.react_day, NULL, COUNT(*), CASE WHEN o.done_at IS NULL THEN 0 ELSE 1 END,
           CASE WHEN o.status = 'sunset' THEN 1 ELSE 0 END{padding}
    FROM o
    GROUP BY CASE WHEN o.is_holdout THEN 1 ELSE 0 END, o.window_open, o.observed_days,
             o.react_day, CASE WHEN o.done_at IS NULL THEN 0 ELSE 1 END,
             CASE WHEN o.status = 'sunset' THEN 1 ELSE 0 END
"""
# The funnel's rows are (part, step, variant, window_open, NULL, audience, messages, 11 counts).
SEND_COUNTS = len(funnel.SEND_CONDITIONS) + 1


def report_rows(
    *, campaign: Campaign, now: dt.datetime
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The arm rows ``(is_holdout, window_open, observed_days, react_day, completed, sunset,
    learners)`` and the funnel's send rows (see :func:`funnel.send_select`), in one statement
    over one materialized outcome relation."""
    select = ARM_SELECT.format(padding=", NULL" * (SEND_COUNTS - 2))
    sends, params = funnel.send_select(campaign=campaign)
    select = f"{select} UNION ALL {sends}"
    rows = outcomes.read(campaign_ids=[campaign.pk], now=now, select=select, select_params=params)
    arms: list[tuple[object, ...]] = []
    send_rows: list[tuple[object, ...]] = []
    for row in rows:
        if row[0] == "arm":
            arms.append((row[1], row[2], row[3], row[4], row[7], row[8], row[6]))
        else:
            send_rows.append((row[1], row[2], row[5], row[3], *row[6:]))
    return arms, send_rows


def _arms(rows: list[tuple[object, ...]]) -> tuple[ArmCounts, ArmCounts]:
    treated, holdout = ArmCounts(), ArmCounts()
    for is_holdout, window_open, _, react_day, done, sunset, n in rows:
        arm = holdout if is_holdout else treated
        count = int(str(n))
        arm.enrolled += count
        arm.sunset += count if sunset else 0
        if window_open:
            arm.open += count
            arm.reactivated_open += count if react_day is not None else 0
            arm.completed_open += count if done else 0
        else:
            arm.final += count
            arm.reactivated += count if react_day is not None else 0
            arm.completed += count if done else 0
    return treated, holdout


def _daily(rows: list[tuple[object, ...]], window: int) -> list[DayPoint]:
    """Cumulative share reactivated by day ``d`` since enrolling, among learners enrolled at
    least ``d`` days ago (so a learner enrolled yesterday does not pull day 20 down)."""
    seen: dict[bool, list[int]] = {False: [0] * (window + 1), True: [0] * (window + 1)}
    back: dict[bool, list[int]] = {False: [0] * (window + 1), True: [0] * (window + 1)}
    for is_holdout, _, observed, react_day, _, _, n in rows:
        arm, count, last = bool(is_holdout), int(str(n)), int(str(observed))
        for day in range(last + 1):
            seen[arm][day] += count
            if react_day is not None and int(str(react_day)) <= day:
                back[arm][day] += count
    points = []
    for day in range(window + 1):
        t, h = seen[False][day], seen[True][day]
        points.append(
            DayPoint(
                day=day,
                treated_n=t,
                treated_rate=back[False][day] / t if t else None,
                holdout_n=h,
                holdout_rate=back[True][day] / h if h else None,
            )
        )
    return points


def compare_arms(*, outcome: str, treated: lift.Arm, holdout: lift.Arm, provisional: bool) -> Lift:
    """The lift on one outcome, or the reason there is none yet."""
    result = Lift(outcome, treated, holdout, provisional, verdict="", message="")
    if holdout.n == 0 and treated.n == 0:
        result.verdict, result.message = "no_data", "No learner's window has closed yet."
        return result
    if holdout.n == 0 or treated.n == 0:
        missing = "holdout" if holdout.n == 0 else "treated group"
        result.verdict = "no_comparison"
        result.message = f"No {missing} with a final outcome yet: nothing to compare against."
        return result
    result.mde = lift.minimum_detectable_effect(treated, holdout)
    if lift.too_few(treated, holdout):
        result.verdict, result.message = "too_few", "Too few learners to tell yet."
        return result
    if provisional:
        result.interval = lift.confidence_sequence(treated, holdout)
        result.method = "asymptotic confidence sequence (anytime-valid)"
    else:
        result.interval = lift.newcombe(treated, holdout)
        result.method = "Newcombe hybrid score interval"
    iv = result.interval
    if iv.low > 0:
        result.verdict, result.message = "better", "The campaign brings more learners back."
    elif iv.high < 0:
        result.verdict, result.message = "worse", "The holdout comes back more often."
    else:
        result.verdict, result.message = "unclear", "No clear difference yet."
    if provisional:
        result.message += " Provisional: some goal windows are still open."
    return result


def campaign_results(*, campaign: Campaign, now: dt.datetime) -> CampaignResults:
    """Everything the results page shows for ``campaign`` as known at ``now``."""
    rows, send_rows = report_rows(campaign=campaign, now=now)
    treated, holdout = _arms(rows)
    provisional = treated.open + holdout.open > 0
    results = CampaignResults(
        campaign=campaign,
        now=now,
        treated=treated,
        holdout=holdout,
        reactivation=compare_arms(
            outcome="reactivated",
            treated=lift.Arm(treated.final, treated.reactivated),
            holdout=lift.Arm(holdout.final, holdout.reactivated),
            provisional=provisional,
        ),
        module_completion=compare_arms(
            outcome="completed a module",
            treated=lift.Arm(treated.final, treated.completed),
            holdout=lift.Arm(holdout.final, holdout.completed),
            provisional=provisional,
        ),
        sample_ratio=lift.sample_ratio(
            treated=treated.enrolled,
            holdout=holdout.enrolled,
            holdout_percent=campaign.holdout_percent,
        ),
        daily=_daily(rows, campaign.goal_window_days),
    )
    results.step_rows, results.variant_rows = funnel.step_funnel(campaign=campaign, rows=send_rows)
    results.campaign_rows = _campaign_rows(treated, holdout, results.step_rows)
    steps = list(
        Step.objects.filter(campaign=campaign).prefetch_related("variants").order_by("position")
    )
    results.steps = ab.step_results(steps=steps, variant_rows=results.variant_rows)
    return results


MESSAGE_COUNTS = (
    "messages", "sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed",
)  # fmt: skip


def _campaign_rows(
    treated: ArmCounts, holdout: ArmCounts, step_rows: list[funnel.FunnelRow]
) -> list[funnel.FunnelRow]:
    """The campaign's two lines: treated (with every message sent) and holdout (none)."""
    rows = []
    for label, arm in (("Treated", treated), ("Holdout", holdout)):
        row = funnel.FunnelRow(None, "Whole campaign", None, label, "learner")
        row.final = funnel.Counts(
            enrolled=arm.final,
            reactivated=arm.reactivated,
            completed=arm.completed,
            sunset=arm.sunset,
        )
        row.open = funnel.Counts(
            enrolled=arm.open, reactivated=arm.reactivated_open, completed=arm.completed_open
        )
        rows.append(row)
    for step_row in step_rows:
        for part in ("final", "open"):
            source, target = getattr(step_row, part), getattr(rows[0], part)
            for name in MESSAGE_COUNTS:
                setattr(target, name, getattr(target, name) + getattr(source, name))
    return rows


@dataclass
class OverviewLine:
    campaign: Campaign
    enrolled: int
    treated: ArmCounts
    holdout: ArmCounts
    reactivation: Lift


OVERVIEW_SELECT = """
    SELECT o.campaign_id, CASE WHEN o.is_holdout THEN 1 ELSE 0 END, o.window_open,
           CASE WHEN o.first_at IS NULL THEN 0 ELSE 1 END, COUNT(*)
    FROM o
    GROUP BY o.campaign_id, CASE WHEN o.is_holdout THEN 1 ELSE 0 END, o.window_open,
             CASE WHEN o.first_at IS NULL THEN 0 ELSE 1 END
"""


def programme_overview(*, now: dt.datetime) -> list[OverviewLine]:
    """Enrolled, lift and status of every launched campaign, in one statement for all."""
    campaigns = list(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("priority", "name")
    )
    counted = outcomes.read(
        campaign_ids=[c.pk for c in campaigns], now=now, select=OVERVIEW_SELECT, select_params=[]
    )
    rows: dict[int, list[tuple[object, ...]]] = {c.pk: [] for c in campaigns}
    for campaign_id, is_holdout, window_open, back, n in counted:
        # In the shape _arms reads: no day detail, "back" as a day.
        rows[int(str(campaign_id))].append(
            (is_holdout, window_open, 0, 0 if back else None, 0, 0, n)
        )
    lines = []
    for campaign in campaigns:
        treated, holdout = _arms(rows[campaign.pk])
        lines.append(
            OverviewLine(
                campaign=campaign,
                enrolled=treated.enrolled + holdout.enrolled,
                treated=treated,
                holdout=holdout,
                reactivation=compare_arms(
                    outcome="reactivated",
                    treated=lift.Arm(treated.final, treated.reactivated),
                    holdout=lift.Arm(holdout.final, holdout.reactivated),
                    provisional=treated.open + holdout.open > 0,
                ),
            )
        )
    return lines
