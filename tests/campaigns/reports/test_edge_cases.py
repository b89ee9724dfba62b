"""Results at the edges: no holdout, only a holdout, nobody back, everybody back, one variant;
and the command's text output and errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from campaigns.reports import exports
from campaigns.reports.results import campaign_results, programme_overview
from tests.campaigns.reports.conftest import activity, campaign, days, enroll, send
from tests.factories import NOW, StepFactory, VariantFactory

pytestmark = pytest.mark.django_db
LATER = NOW + days(31)


def population(c, *, treated: int, holdout: int, back_treated: int = 0, back_holdout: int = 0):
    for count, held, back in ((treated, False, back_treated), (holdout, True, back_holdout)):
        for i in range(count):
            e = enroll(c, holdout=held)
            if i < back:
                activity(e.learner_id, NOW + days(2))


def test_no_holdout_means_nothing_to_compare_against():
    c = campaign(holdout_percent=0)
    population(c, treated=40, holdout=0, back_treated=12)
    results = campaign_results(campaign=c, now=LATER)
    assert results.reactivation.verdict == "no_comparison"
    assert "No holdout" in results.reactivation.message
    assert results.reactivation.interval is None
    assert not results.sample_ratio.mismatch
    data = exports.as_dict(results)
    assert data["reactivation"]["treated"] == {"n": 40, "reactivated": 12, "rate": 0.3}
    assert data["reactivation"]["diff"] is None


def test_only_a_holdout_means_nothing_to_compare_either():
    c = campaign(holdout_percent=10)
    population(c, treated=0, holdout=40, back_holdout=4)
    results = campaign_results(campaign=c, now=LATER)
    assert results.reactivation.verdict == "no_comparison"
    assert "No treated group" in results.reactivation.message
    assert results.sample_ratio.mismatch  # 100% held out where 10% was asked for


@pytest.mark.parametrize(("back_treated", "back_holdout"), [(0, 0), (60, 40)])
def test_nobody_or_everybody_back_is_too_few_to_tell(back_treated, back_holdout):
    c = campaign(holdout_percent=40)
    population(c, treated=60, holdout=40, back_treated=back_treated, back_holdout=back_holdout)
    results = campaign_results(campaign=c, now=LATER)
    assert results.reactivation.verdict == "too_few"
    assert results.reactivation.message == "Too few learners to tell yet."
    assert results.reactivation.mde is not None
    # The exports and JSON still work on all-or-nothing counts.
    assert b"reactivated" in exports.csv_bytes(results, "lift")
    assert exports.xlsx_bytes(results)[:2] == b"PK"


def test_one_variant_is_nothing_to_compare():
    c = campaign(holdout_percent=0)
    step = StepFactory.create(campaign=c, position=1)
    only = VariantFactory.create(step=step, label="A")
    for _ in range(5):
        send(enroll(c), step, variant=only, sent_at=NOW)
    (step_ab,) = campaign_results(campaign=c, now=LATER).steps
    assert step_ab.winner is None
    assert step_ab.verdict == "One variant: nothing to compare."


def test_the_command_prints_a_summary_and_names_bad_input():
    c = campaign(holdout_percent=50, name="Win back Q4")
    population(c, treated=200, holdout=200, back_treated=80, back_holdout=40)
    out = io.StringIO()
    call_command("campaign_results", c.slug, "--now", LATER.isoformat(), stdout=out)
    text = out.getvalue()
    assert "Win back Q4" in text
    assert "Reactivated: treated 80/200 (40.0%), holdout 40/200 (20.0%)" in text
    assert "difference +20.0 pts" in text and "Newcombe" in text
    assert "The campaign brings more learners back." in text

    out = io.StringIO()
    call_command("campaign_results", c.slug, "--json", "--now", LATER.isoformat(), stdout=out)
    assert json.loads(out.getvalue())["reactivation"]["verdict"] == "better"

    with pytest.raises(CommandError, match="No campaign with the slug 'nope'"):
        call_command("campaign_results", "nope")


def test_an_overview_with_no_campaign_launched_is_empty():
    campaign(status="draft")
    assert programme_overview(now=NOW) == []
