"""Importing activity events: replays change nothing."""

from __future__ import annotations

import datetime as dt

from learners.models import ActivityEvent, Learner
from tests.factories import (
    CourseFactory,
    LearnerFactory,
)
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run


def test_activity_import_moves_last_active_forward_and_replays_change_nothing(db):
    LearnerFactory.create(external_id="L1", last_active_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    LearnerFactory.create(external_id="L2", last_active_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    CourseFactory.create(external_id="C1")
    text = csv_text(
        "external_id,learner,course,kind,occurred_at",
        "E1,L1,C1,module_completed,2026-11-20T10:00:00Z",
        "E2,L1,,Login,2026-11-10T10:00:00Z",
        "E3,L2,,login,2026-11-05T10:00:00Z",
        "E1,L1,C1,module_completed,2026-11-20T10:00:00Z",
        "E4,L9,,login,2026-11-05T10:00:00Z",
        "E5,L1,,dancing,2026-11-05T10:00:00Z",
        "E6,L1,,login,2027-06-01T00:00:00Z",
    )

    first = run("activity", text)
    replay = run("activity", text)

    assert (first.created, first.unchanged) == (3, 1)
    assert [e.row for e in first.errors] == [6, 7, 8]
    assert str(first.errors[0]) == "row 6: learner: No learner has the LMS id 'L9'."
    assert "occurred_at: '2027-06-01T00:00:00Z' is in the future." in str(first.errors[2])
    assert (replay.created, replay.updated, replay.unchanged) == (0, 0, 4)
    assert ActivityEvent.objects.count() == 3
    assert Learner.objects.get(external_id="L1").last_active_at == dt.datetime(
        2026, 11, 20, 10, tzinfo=dt.UTC
    )
    # An older event never moves a learner back.
    assert Learner.objects.get(external_id="L2").last_active_at == dt.datetime(
        2026, 11, 28, tzinfo=dt.UTC
    )
