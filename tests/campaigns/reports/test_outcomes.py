"""The one definition of reactivated: active within the goal window after enrolling, by
assignment, with open windows kept apart from final ones."""

from __future__ import annotations

import pytest

from campaigns.models import Enrollment
from campaigns.reports.results import campaign_results, programme_overview
from learners.models import ActivityEvent
from tests.campaigns.reports.conftest import activity, campaign, days, enroll
from tests.factories import NOW

pytestmark = pytest.mark.django_db


def test_activity_inside_the_window_counts_and_outside_does_not():
    c = campaign(goal_window_days=30, holdout_percent=10)
    inside = enroll(c)
    activity(inside.learner_id, NOW + days(29.9))
    edge = enroll(c)
    activity(edge.learner_id, NOW + days(30))  # the last moment of the window counts
    late = enroll(c)
    activity(late.learner_id, NOW + days(30.01))
    before = enroll(c)
    activity(before.learner_id, NOW - days(1))  # before enrolling: not a return
    at_enrolment = enroll(c)
    activity(at_enrolment.learner_id, NOW)

    results = campaign_results(campaign=c, now=NOW + days(40))

    assert results.treated.enrolled == 5
    assert results.treated.final == 5
    assert results.treated.reactivated == 2
    assert results.treated.open == 0


def test_holdout_and_ended_enrollments_count_by_assignment():
    c = campaign(holdout_percent=50)
    held = enroll(c, holdout=True, status=Enrollment.Status.SUNSET)
    activity(held.learner_id, NOW + days(3))
    enroll(c, holdout=True)
    gone = enroll(c, status=Enrollment.Status.EXITED)  # unsubscribed, never sent: still counted
    activity(gone.learner_id, NOW + days(2))

    results = campaign_results(campaign=c, now=NOW + days(31))

    assert (results.holdout.enrolled, results.holdout.reactivated) == (2, 1)
    assert (results.treated.enrolled, results.treated.reactivated) == (1, 1)
    assert results.holdout.sunset == 1


def test_open_windows_are_counted_apart_and_events_after_now_are_not_known():
    c = campaign(goal_window_days=14)
    old = enroll(c, at=NOW - days(20))
    activity(old.learner_id, NOW - days(10))
    recent = enroll(c, at=NOW - days(3))
    activity(recent.learner_id, NOW - days(1))
    future = enroll(c, at=NOW - days(2))
    activity(future.learner_id, NOW + days(1))  # not yet happened at NOW

    results = campaign_results(campaign=c, now=NOW)

    assert (results.treated.final, results.treated.reactivated) == (1, 1)
    assert (results.treated.open, results.treated.reactivated_open) == (2, 1)
    assert results.reactivation.provisional


def test_only_the_kinds_the_campaign_counts_and_module_completion():
    c = campaign(goal_activity_kinds="module_started, module_completed")
    login_only = enroll(c)
    activity(login_only.learner_id, NOW + days(1), ActivityEvent.Kind.LOGIN)
    finished = enroll(c)
    activity(finished.learner_id, NOW + days(2), ActivityEvent.Kind.MODULE_COMPLETED)

    results = campaign_results(campaign=c, now=NOW + days(31))

    assert results.treated.reactivated == 1
    assert results.treated.completed == 1


def test_the_daily_curve_counts_each_day_among_learners_seen_that_long():
    c = campaign(goal_window_days=10)
    a = enroll(c, at=NOW - days(10))
    activity(a.learner_id, NOW - days(8))  # back on day 2
    enroll(c, at=NOW - days(10))
    b = enroll(c, at=NOW - days(1))  # seen for one day only
    activity(b.learner_id, NOW - days(0.5))  # back on day 0
    enroll(c, holdout=True, at=NOW - days(10))

    daily = campaign_results(campaign=c, now=NOW).daily

    assert [p.treated_n for p in daily[:3]] == [3, 3, 2]
    assert daily[0].treated_rate == pytest.approx(1 / 3)
    assert daily[2].treated_rate == pytest.approx(1 / 2)
    assert daily[10].treated_rate == pytest.approx(1 / 2)
    assert daily[10].holdout_rate == 0


def test_the_overview_judges_each_campaign_by_its_own_window_and_kinds():
    short = campaign(goal_window_days=7, goal_activity_kinds="module_completed")
    long = campaign(goal_window_days=30)
    for c in (short, long):
        for day, kind in ((3, "login"), (5, "module_completed"), (20, "login")):
            e = enroll(c, at=NOW - days(40))
            activity(e.learner_id, NOW - days(40) + days(day), kind)
        enroll(c, holdout=True, at=NOW - days(1))
    lines = {line.campaign.pk: line for line in programme_overview(now=NOW)}

    assert (lines[short.pk].treated.final, lines[short.pk].treated.reactivated) == (3, 1)
    assert (lines[long.pk].treated.final, lines[long.pk].treated.reactivated) == (3, 3)
    assert lines[long.pk].holdout.open == 1
    for c in (short, long):
        page = campaign_results(campaign=c, now=NOW)
        for arm in ("treated", "holdout"):
            seen, full = getattr(lines[c.pk], arm), getattr(page, arm)
            assert (seen.enrolled, seen.final, seen.reactivated, seen.open) == (
                full.enrolled,
                full.final,
                full.reactivated,
                full.open,
            )
