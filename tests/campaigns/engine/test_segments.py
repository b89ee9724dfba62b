"""Every segment rule, each with a learner that only that rule keeps out (or lets in)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.engine.segments import focus_course_subquery, segment_learners
from campaigns.models import Segment
from learners.models import Course, Learner
from tests.factories import NOW, CourseFactory, CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def segment(**rules: object) -> Segment:
    """A saved segment with no rules but ``rules``: every learner below is inactive enough."""
    fields: dict[str, object] = {"name": "Test segment"}
    fields.update(rules)
    return Segment.objects.create(**fields)


def members(rules: Segment) -> set[str]:
    return set(segment_learners(rules, now=NOW).values_list("first_name", flat=True))


def learner(name: str, **fields: object) -> Learner:
    return LearnerFactory.create(first_name=name, **fields)


def test_it_leaves_out_unsubscribed_suppressed_and_sunset_learners() -> None:
    learner("Ann")
    learner("Unsubscribed", unsubscribed_at=NOW)
    learner("Suppressed", suppressed_at=NOW)
    learner("Sunset", sunset_at=NOW)
    assert members(segment()) == {"Ann"}


def test_the_inactivity_window_counts_whole_days_and_needs_some_activity() -> None:
    learner("Day 29", last_active_at=NOW - dt.timedelta(days=29, hours=23))
    learner("Day 30", last_active_at=NOW - dt.timedelta(days=30))
    learner("Day 59 late", last_active_at=NOW - dt.timedelta(days=59, hours=23))
    learner("Day 60", last_active_at=NOW - dt.timedelta(days=60))
    learner("Never active", last_active_at=None)
    rules = segment(min_inactive_days=30, max_inactive_days=59)
    assert members(rules) == {"Day 30", "Day 59 late"}
    assert members(segment(name="From 30", min_inactive_days=30)) == {
        "Day 30",
        "Day 59 late",
        "Day 60",
    }
    assert members(segment(name="Up to 59", max_inactive_days=59)) == {
        "Day 29",
        "Day 30",
        "Day 59 late",
    }


def test_roles_keep_only_the_listed_roles() -> None:
    learner("Sales", role="Sales")
    learner("Support", role="Support")
    learner("Engineer", role="Engineering")
    learner("No role", role="")
    assert members(segment(roles="Sales, Support")) == {"Sales", "Support"}
    assert members(segment(name="Any role", roles="")) == {
        "Sales",
        "Support",
        "Engineer",
        "No role",
    }


def test_teams_keep_only_the_listed_teams() -> None:
    learner("Emea", team="EMEA")
    learner("Apac", team="APAC")
    learner("Amer", team="AMER")
    assert members(segment(teams="EMEA,APAC")) == {"Emea", "Apac"}


def test_course_types_keep_learners_with_an_unfinished_course_of_those_types() -> None:
    compliance = CourseFactory.create(course_type=Course.CourseType.COMPLIANCE)
    onboarding = CourseFactory.create(course_type=Course.CourseType.ONBOARDING)
    elective = CourseFactory.create(course_type=Course.CourseType.ELECTIVE)
    CourseProgressFactory.create(learner=learner("Compliance"), course=compliance)
    CourseProgressFactory.create(learner=learner("Onboarding"), course=onboarding)
    CourseProgressFactory.create(learner=learner("Elective only"), course=elective)
    CourseProgressFactory.create(
        learner=learner("Compliance finished"), course=compliance, percent_complete=100
    )
    learner("No course")
    rules = segment(course_types="compliance,onboarding")
    assert members(rules) == {"Compliance", "Onboarding"}


def test_the_minimum_completion_rate_is_inclusive() -> None:
    learner("Below", completion_rate=29.9)
    learner("At", completion_rate=30)
    learner("Above", completion_rate=90)
    learner("Unknown", completion_rate=None)
    assert members(segment(min_completion_rate=30)) == {"At", "Above"}


def test_the_maximum_completion_rate_is_inclusive() -> None:
    learner("Below", completion_rate=10)
    learner("At", completion_rate=50)
    learner("Above", completion_rate=50.1)
    learner("Unknown", completion_rate=None)
    assert members(segment(max_completion_rate=50)) == {"Below", "At"}


def test_has_manager_yes_no_or_either() -> None:
    learner("Managed")
    learner("On their own", manager=None)
    assert members(segment(has_manager=True)) == {"Managed"}
    assert members(segment(name="Without", has_manager=False)) == {"On their own"}
    assert members(segment(name="Either", has_manager=None)) == {"Managed", "On their own"}


def focus_of(person: Learner, rules: Segment) -> int | None:
    annotated = Learner.objects.annotate(focus=focus_course_subquery(rules)).get(pk=person.pk)
    return annotated.focus


def test_the_focus_course_is_the_most_recently_touched_unfinished_one() -> None:
    person = learner("Sam")
    # The newer one is stored first: recency, not the order of the rows, decides.
    newer = CourseProgressFactory.create(learner=person, updated_at=NOW - dt.timedelta(days=40))
    older = CourseProgressFactory.create(learner=person, updated_at=NOW - dt.timedelta(days=50))
    CourseProgressFactory.create(
        learner=person, percent_complete=100, updated_at=NOW - dt.timedelta(days=35)
    )
    assert focus_of(person, segment()) == newer.course_id
    assert older.course_id != newer.course_id


def test_the_focus_course_is_of_the_segments_course_types() -> None:
    person = learner("Sam")
    compliance = CourseProgressFactory.create(
        learner=person,
        course=CourseFactory.create(course_type=Course.CourseType.COMPLIANCE),
        updated_at=NOW - dt.timedelta(days=50),
    )
    CourseProgressFactory.create(
        learner=person,
        course=CourseFactory.create(course_type=Course.CourseType.ELECTIVE),
        updated_at=NOW - dt.timedelta(days=40),
    )
    assert focus_of(person, segment(course_types="compliance")) == compliance.course_id


def test_the_focus_course_breaks_a_tie_by_the_latest_progress_row() -> None:
    person = learner("Sam")
    when = NOW - dt.timedelta(days=40)
    CourseProgressFactory.create(learner=person, updated_at=when)
    later_row = CourseProgressFactory.create(learner=person, updated_at=when)
    assert focus_of(person, segment()) == later_row.course_id


def test_a_learner_with_only_finished_courses_has_no_focus_course() -> None:
    person = learner("Sam")
    CourseProgressFactory.create(learner=person, percent_complete=100)
    assert focus_of(person, segment()) is None
