"""The demo after a simulated month: ``campaign_results --json`` agrees with a direct query
and statsmodels on the same data."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Exists, ExpressionWrapper, OuterRef
from django.db.models.fields import DateTimeField
from statsmodels.stats import proportion

from campaigns.building.blueprint import ensure_demo_campaign
from campaigns.building.services import launch_campaign
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment
from campaigns.reports import lift
from learners.activity import record_events
from learners.demo import seed_demo_learners
from learners.models import ActivityEvent
from tests.factories import NOW

pytestmark = pytest.mark.django_db

PASS_DAYS = (0, 3, 7, 10, 14, 21, 28, 30)
RETURN_DAYS = (1, 2, 5, 9, 12, 16, 24, 29)


def day(n: int, hour: int = 9) -> dt.datetime:
    return NOW.replace(hour=hour) + dt.timedelta(days=n)


def learners_come_back(on: int) -> None:
    """Some enrolled learners log in: treated ones more often than held-out ones."""
    payload = []
    for pk, external_id, held in Enrollment.objects.filter(enrolled_at__lt=day(on)).values_list(
        "pk", "learner__external_id", "is_holdout"
    ):
        if (not held and pk % 17 == on % 17) or (held and pk % 29 == on % 29):
            payload.append(
                {
                    "event_id": f"return-{pk}-{on}",
                    "learner_id": external_id,
                    "kind": "module_completed" if pk % 2 else "login",
                    "occurred_at": day(on, hour=12).isoformat(),
                }
            )
    record_events(payload=payload, now=day(on, hour=13))


def simulate_a_month() -> Campaign:
    seed_demo_learners(count=1500, now=NOW, seed=3)
    campaign = ensure_demo_campaign(now=NOW)
    campaign.holdout_percent = 30  # a holdout big enough to compare against in a month
    campaign.save()
    launch_campaign(campaign=campaign, now=NOW)
    for n in range(31):
        if n in RETURN_DAYS:
            learners_come_back(n)
        if n in PASS_DAYS:
            run_pass(now=day(n))
            deliver_queued(now=day(n))
    return campaign


def results_json(slug: str, now: dt.datetime) -> dict[str, Any]:
    out = io.StringIO()
    call_command("campaign_results", slug, "--json", "--now", now.isoformat(), stdout=out)
    return json.loads(out.getvalue())


def direct_counts(campaign: Campaign, now: dt.datetime) -> dict[bool, tuple[int, int]]:
    """(learners with a closed window, reactivated among them) per arm, by the ORM."""
    window = dt.timedelta(days=campaign.goal_window_days)
    end = ExpressionWrapper(OuterRef("enrolled_at") + window, output_field=DateTimeField())
    came_back = ActivityEvent.objects.filter(
        learner=OuterRef("learner"), occurred_at__gt=OuterRef("enrolled_at"), occurred_at__lte=end
    ).filter(occurred_at__lte=now)
    closed = Enrollment.objects.filter(campaign=campaign, enrolled_at__lte=now - window).annotate(
        back=Exists(came_back)
    )
    return {
        held: (
            closed.filter(is_holdout=held).count(),
            closed.filter(is_holdout=held, back=True).count(),
        )
        for held in (False, True)
    }


def test_campaign_results_json_agrees_with_a_direct_query_and_statsmodels():
    campaign = simulate_a_month()
    assert Enrollment.objects.filter(status=Enrollment.Status.REACTIVATED).exists()

    # After the month, once every window has closed: the fixed-horizon result.
    later = day(61)
    data = results_json(campaign.slug, later)
    counts = direct_counts(campaign, later)
    (nt, xt), (nh, xh) = counts[False], counts[True]
    reactivation = data["reactivation"]
    assert reactivation["treated"] == {"n": nt, "reactivated": xt, "rate": round(xt / nt, 6)}
    assert reactivation["holdout"] == {"n": nh, "reactivated": xh, "rate": round(xh / nh, 6)}
    assert reactivation["provisional"] is False
    low, high = proportion.confint_proportions_2indep(
        xt, nt, xh, nh, method="newcomb", compare="diff"
    )
    p = proportion.test_proportions_2indep(xt, nt, xh, nh, method="score", compare="diff").pvalue
    assert reactivation["diff"] == pytest.approx(xt / nt - xh / nh, abs=1e-6)
    assert reactivation["ci_low"] == pytest.approx(low, abs=1e-6)
    assert reactivation["ci_high"] == pytest.approx(high, abs=1e-6)
    assert reactivation["p_value"] == pytest.approx(p, abs=1e-7)
    assert data["enrolled"]["treated"] + data["enrolled"]["holdout"] == (
        Enrollment.objects.filter(campaign=campaign).count()
    )

    # On day 30 itself, windows are still open: a provisional, anytime-valid result on the
    # learners whose window has closed, the others counted apart.
    today = day(30, hour=10)
    data = results_json(campaign.slug, today)
    counts = direct_counts(campaign, today)
    (nt, xt), (nh, xh) = counts[False], counts[True]
    assert data["reactivation"]["provisional"] is True
    assert data["reactivation"]["treated"]["n"] == nt
    assert data["reactivation"]["holdout"]["n"] == nh
    assert data["enrolled"]["window_open"] == (
        Enrollment.objects.filter(campaign=campaign).count() - nt - nh
    )
    if not lift.too_few(lift.Arm(nt, xt), lift.Arm(nh, xh)):
        sequence = lift.confidence_sequence(lift.Arm(nt, xt), lift.Arm(nh, xh))
        assert data["reactivation"]["ci_low"] == pytest.approx(sequence.low, abs=1e-6)
    else:
        assert data["reactivation"]["message"] == "Too few learners to tell yet."
