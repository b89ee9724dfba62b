"""Importing course progress by learner and course LMS id."""

from __future__ import annotations

from learners.models import CourseProgress
from tests.factories import (
    CourseFactory,
    CourseProgressFactory,
    LearnerFactory,
)
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run


def test_progress_references_learners_and_courses_by_lms_id_and_refreshes_completion(db, now):
    ana = LearnerFactory.create(external_id="L1")
    course_a, course_b = (
        CourseFactory.create(external_id="C1"),
        CourseFactory.create(external_id="C2"),
    )
    CourseProgressFactory.create(learner=ana, course=course_a, percent_complete=10)

    summary = run(
        "progress",
        csv_text(
            "learner,course,percent_complete,last_module,next_module,resume_url,"
            "minutes_remaining,updated_at",
            "L1,C1,100,Module 5,,https://lms.example.com/c/1,0,2026-11-30T12:00:00Z",
            "L1,C2,50%,Module 2,Module 3,https://lms.example.com/c/2/m/3,20,",
            "L404,C1,10,,,,,",
            "L1,C404,10,,,,,",
            "L1,C2,120,,,not a url,-5,",
        ),
    )

    assert (summary.created, summary.updated) == (1, 1)
    messages = [str(e) for e in summary.errors]
    assert messages[0] == "row 4: learner: No learner has the LMS id 'L404'."
    assert messages[1] == "row 5: course: No course has the LMS id 'C404'."
    assert messages[2].startswith("row 6: course: Learner L1 in course C2 is also on row 3.")
    assert "percent_complete: Ensure this value is less than or equal to 100." in messages[2]
    assert "resume_url: Enter a valid URL." in messages[2]
    assert "minutes_remaining: Ensure this value is greater than or equal to 0." in messages[2]
    second = CourseProgress.objects.get(learner=ana, course=course_b)
    assert (second.percent_complete, second.next_module, second.updated_at) == (50, "Module 3", now)
    ana.refresh_from_db()
    assert ana.completion_rate == 50.0
