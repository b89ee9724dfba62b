"""Reading xAPI statements: verbs to kinds, objects to courses, ids, the xAPI rules."""

# ruff: noqa: E501

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from learners.standards.mapping import StatementError
from learners.standards.xapi import read_statement, read_statements, version_is_supported
from tests.lms import load

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("fixture", "kind", "courses"),
    [
        ("xapi/moodle/user_loggedin.json", "login", ()),
        ("xapi/moodle/sco_launched.json", "active", ("http://www.example.org/course/view.php?id=2", "2")),
        ("xapi/moodle/course_completed.json", "course_completed", ("http://www.example.org/course/view.php?id=2", "2")),
        ("xapi/moodle/course_module_completion_updated.json", "module_completed", ("http://www.example.org/course/view.php?id=2", "2")),
        ("xapi/openedx/edx.ui.lms.outline.selected.json", "active", ("http://localhost:18000/course/course-v1:edX+DemoX+Demo_Course", "course-v1:edX+DemoX+Demo_Course")),
        ("xapi/openedx/edx.course.grade.passed.first_time.json", "course_completed", ("http://localhost:18000/course/course-v1:edX+DemoX+Demo_Course", "course-v1:edX+DemoX+Demo_Course")),
        ("xapi/openedx/edx.course.enrollment.activated.json", None, ("http://localhost:18000/course/course-v1:edX+DemoX+Demo_Course", "course-v1:edX+DemoX+Demo_Course")),
    ],
)  # fmt: skip
def test_fixture_statements_map_to_a_kind_and_their_course(fixture, kind, courses):
    value = load(fixture)
    statement = value[0] if isinstance(value, list) else value

    mapped = read_statement(statement, index=0, now=NOW)

    assert (mapped.kind, mapped.course_refs[:2]) == (kind, courses)


def test_the_course_parent_comes_before_sections_and_modules():
    [statement] = load("xapi/moodle/chapter_viewed.json")

    mapped = read_statement(statement, index=0, now=NOW)

    assert mapped.course_refs[:2] == ("http://www.example.org/course/view.php?id=2", "2")
    assert "http://www.example.org/course/section.php?id=1" in mapped.course_refs


def test_a_statement_without_id_gets_the_same_uuid_each_time_it_is_sent():
    [statement] = load("xapi/moodle/user_loggedin.json")
    other = {**statement, "timestamp": "2015-06-10T14:31:42.000Z"}

    first, again, different = (
        read_statement(s, index=0, now=NOW) for s in (statement, statement, other)
    )

    assert first.statement_id == again.statement_id != different.statement_id
    assert uuid.UUID(first.statement_id).version == 5
    assert first.occurred_at == dt.datetime(2015, 6, 10, 14, 31, 41, tzinfo=dt.UTC)


def test_a_module_block_at_100_percent_is_a_module_completed_not_a_course_percent():
    statement = load("xapi/openedx/edx.completion.block_completion.changed.json")

    mapped = read_statement(statement, index=0, now=NOW)

    assert (mapped.kind, mapped.percent, mapped.module) == (
        "module_completed",
        None,
        statement["object"]["id"],
    )


def test_groups_and_anonymous_actors_are_ignored_with_a_reason():
    statement = load("xapi/openedx/play_video.json")

    group = read_statement(
        {**statement, "actor": {"objectType": "Group", "member": []}}, index=0, now=NOW
    )
    hashed = read_statement({**statement, "actor": {"mbox_sha1sum": "ab12"}}, index=0, now=NOW)

    assert (group.kind, group.reason) == (None, "The actor is a group, not a learner.")
    assert hashed.reason == "The actor has neither an account name nor an mbox."


def test_statements_that_break_the_rules_name_their_position():
    statement = load("xapi/openedx/play_video.json")

    with pytest.raises(StatementError, match=r"Statement 1: verb\.id is required\."):
        read_statements([statement, {**statement, "id": None, "verb": {}}], now=NOW)


@pytest.mark.parametrize(
    ("header", "ok"),
    [("1.0.3", True), ("1.0", True), ("1.0.0", True), ("2.0.0", False), ("", False), (None, False)],
)
def test_versions_1_0_x_are_spoken(header, ok):
    assert version_is_supported(header) is ok
