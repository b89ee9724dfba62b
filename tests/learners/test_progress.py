"""record_progress: the latest report wins per learner and course; completion rates follow."""

from __future__ import annotations

import datetime as dt

from learners.models import CourseProgress
from learners.progress import ProgressUpdate, record_progress
from tests.factories import CourseFactory, CourseProgressFactory, LearnerFactory

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_the_latest_report_wins_whatever_order_reports_arrive_in(db):
    learner, course = LearnerFactory.create(), CourseFactory.create()
    CourseProgressFactory.create(learner=learner, course=course, percent_complete=30, updated_at=T0)

    record_progress(
        updates=[
            ProgressUpdate(
                learner_id=learner.pk, course_id=course.pk, at=T0 + 3 * HOUR, percent=70
            ),
            ProgressUpdate(learner_id=learner.pk, course_id=course.pk, at=T0 + HOUR, percent=50),
        ]
    )
    record_progress(
        updates=[
            ProgressUpdate(learner_id=learner.pk, course_id=course.pk, at=T0 - HOUR, percent=5)
        ]
    )

    progress = CourseProgress.objects.get()
    assert (progress.percent_complete, progress.updated_at) == (70, T0 + 3 * HOUR)


def test_a_first_report_creates_the_row_and_a_completion_moves_the_rate(db):
    learner = LearnerFactory.create()
    done, started = CourseFactory.create(), CourseFactory.create()

    written = record_progress(
        updates=[
            ProgressUpdate(learner_id=learner.pk, course_id=done.pk, at=T0, percent=100),
            ProgressUpdate(learner_id=learner.pk, course_id=started.pk, at=T0, last_module="Intro"),
        ]
    )

    assert written == 2
    assert CourseProgress.objects.get(course=started).last_module == "Intro"
    learner.refresh_from_db()
    assert learner.completion_rate == 50


def test_a_few_queries_for_many_updates(db, django_assert_max_num_queries):
    course = CourseFactory.create()
    learners = LearnerFactory.create_batch(50)

    with django_assert_max_num_queries(8):
        record_progress(
            updates=[
                ProgressUpdate(learner_id=lr.pk, course_id=course.pk, at=T0, percent=40)
                for lr in learners
            ]
        )

    assert CourseProgress.objects.filter(percent_complete=40).count() == 50
