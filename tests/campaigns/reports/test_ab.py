"""A/B per step: Holm across variants, a winner only when its corrected interval excludes
zero, and applying it for learners not yet sent, with an audit entry."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from statsmodels.stats.multitest import multipletests

from campaigns.building.winners import apply_winner
from campaigns.models import Send, WinnerApplied
from campaigns.reports import ab, lift
from campaigns.reports.lift import Arm
from campaigns.reports.results import campaign_results
from tests.campaigns.reports.conftest import campaign, days, enroll, send
from tests.factories import NOW, StepFactory, VariantFactory


def variants(*arms: Arm) -> list[ab.VariantResult]:
    out = [ab.VariantResult(i, "ABCD"[i], 50, arm, Arm(0, 0)) for i, arm in enumerate(arms)]
    for v, c in zip(out[1:], ab.compare_with_first(list(arms)), strict=True):
        v.click_vs_first = c
    return out


def test_holm_corrects_the_p_values_and_the_intervals_are_at_the_bonferroni_level():
    arms = [Arm(500, 50), Arm(500, 75), Arm(500, 60)]
    comparisons = ab.compare_with_first(arms)
    raw = [lift.newcombe(a, arms[0]).p_value for a in arms[1:]]
    assert all(comparisons)
    assert [c.p_holm for c in comparisons if c] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    wide = lift.newcombe(arms[1], arms[0], alpha=0.025)
    first = comparisons[0]
    assert first is not None and first.interval.low == pytest.approx(wide.low)


def test_a_winner_only_when_its_corrected_interval_excludes_zero():
    winner, why = ab.pick_winner(variants(Arm(500, 50), Arm(500, 100), Arm(500, 55)))
    assert winner is not None and winner.label == "B"
    assert "higher click rate" in why

    # B's lead would pass one uncorrected test but not the corrected one with three variants.
    close = variants(Arm(400, 40), Arm(400, 60), Arm(400, 41), Arm(400, 42))
    assert lift.newcombe(Arm(400, 60), Arm(400, 40)).p_value < 0.05
    assert ab.pick_winner(close) == (None, "No clear difference yet.")

    first, why = ab.pick_winner(variants(Arm(500, 120), Arm(500, 50)))
    assert first is not None and first.label == "A"

    assert ab.pick_winner(variants(Arm(20, 5), Arm(20, 15)))[1] == "Too few learners to tell yet."
    assert ab.pick_winner(variants(Arm(500, 50)))[1] == "One variant: nothing to compare."


@pytest.fixture
def two_variants(db):
    c = campaign(holdout_percent=0)
    step = StepFactory.create(campaign=c, position=1, name="Day 0")
    a = VariantFactory.create(step=step, label="A", weight=50)
    b = VariantFactory.create(step=step, label="B", weight=50)
    for i in range(200):
        e = enroll(c, at=NOW - days(40))
        clicked = i % 10 == 1 if i % 2 else i % 6 == 0  # A: 20 in 100, B: 34 in 100
        variant = a if i % 2 else b
        stamps: dict[str, Any] = {"sent_at": NOW - days(40)}
        if clicked:
            stamps["clicked_at"] = NOW - days(39)
        send(e, step, variant=variant, at=NOW - days(40), **stamps)
    return c, step, a, b


def test_the_results_name_the_winner_from_the_sends(two_variants):
    c = two_variants[0]
    results = campaign_results(campaign=c, now=NOW)
    (step_ab,) = results.steps
    assert [v.label for v in step_ab.variants] == ["A", "B"]
    assert step_ab.variants[0].click == Arm(100, 20)
    assert step_ab.variants[1].click.n == 100
    assert step_ab.winner is not None and step_ab.winner.label == "B"


def test_applying_the_winner_moves_learners_not_yet_sent_and_records_who_and_what(two_variants):
    c, step, a, b = two_variants
    pending = send(enroll(c), step, variant=a)  # scheduled, not sent yet
    staff = User.objects.create_user("olu", "olu@example.com", "pw")
    figures = {"winner": "B", "click_rate": {"A": 0.2, "B": 0.34}}

    entry = apply_winner(variant=b, figures=figures, user=staff, now=NOW)

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.weight, b.weight) == (0, 100)
    pending.refresh_from_db()
    assert pending.variant_id == b.pk
    assert Send.objects.filter(variant=a, status=Send.Status.SENT).count() == 100
    assert WinnerApplied.objects.get() == entry
    assert (entry.applied_by, entry.applied_at, entry.figures) == (staff, NOW, figures)


def test_a_step_with_one_variant_has_nothing_to_apply(db):
    step = StepFactory.create(campaign=campaign())
    only = VariantFactory.create(step=step, label="A")
    with pytest.raises(ValidationError, match="no other variant"):
        apply_winner(variant=only, figures={}, user=None, now=NOW)
