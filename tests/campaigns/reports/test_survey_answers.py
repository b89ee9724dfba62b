"""Survey answers in the results: counted as reactivation only where the campaign says so (the
engine's own rule), counted per campaign for staff, and exported formula-safe."""

from __future__ import annotations

import csv
import io

import openpyxl  # type: ignore[import-untyped]
import pytest

from campaigns.models import SurveyReason, SurveyResponse
from campaigns.reports import survey
from campaigns.reports.results import campaign_results
from tests.campaigns.reports.conftest import activity, campaign, days, enroll
from tests.factories import NOW, LearnerFactory

pytestmark = pytest.mark.django_db


def _answered(enrollment, at, reason="no_time", comment=""):
    return SurveyResponse.objects.create(
        learner_id=enrollment.learner_id,
        campaign=enrollment.campaign,
        reason=reason,
        comment=comment,
        created_at=at,
    )


@pytest.mark.parametrize("counts", [True, False])
def test_an_answer_in_the_window_is_a_reactivation_only_where_the_campaign_counts_it(
    counts: bool,
) -> None:
    c = campaign(goal_window_days=30, holdout_percent=10, survey_answer_counts=counts)
    answered = enroll(c)
    _answered(answered, NOW + days(2))
    late = enroll(c)
    _answered(late, NOW + days(31))  # after the window: never
    before = enroll(c)
    _answered(before, NOW - days(1))  # before enrolling: not a return
    both = enroll(c)
    _answered(both, NOW + days(5))
    activity(both.learner_id, NOW + days(3))
    results = campaign_results(campaign=c, now=NOW + days(40))
    assert results.treated.final == 4
    assert results.treated.reactivated == (2 if counts else 1)


def test_the_earlier_of_an_answer_and_activity_is_when_they_came_back() -> None:
    c = campaign(goal_window_days=30, holdout_percent=10, survey_answer_counts=True)
    e = enroll(c)
    activity(e.learner_id, NOW + days(9))
    _answered(e, NOW + days(2))
    results = campaign_results(campaign=c, now=NOW + days(40))
    # The daily curve has them back from day 2.
    by_day = {p.day: p.treated_rate for p in results.daily}
    assert by_day[1] == 0 and by_day[2] == 1


def test_staff_see_each_answer_counted_per_campaign() -> None:
    c, other = campaign(), campaign()
    for reason in ("no_time", "no_time", "forgot"):
        _answered(enroll(c), NOW, reason)
    _answered(enroll(other), NOW, "technical")
    SurveyReason.objects.filter(code="forgot").update(label="Slipped my mind")
    counts = [(a.code, a.label, a.count) for a in survey.answer_counts(campaign=c)]
    assert counts == [("no_time", "I didn't have time", 2), ("forgot", "Slipped my mind", 1)]


def test_answers_export_as_csv_and_xlsx_with_formulas_neutralized() -> None:
    c = campaign(slug="win-back-q4")
    learner = LearnerFactory.create(external_id="=HYPERLINK(1)", email="sam@example.com")
    _answered(enroll(c, learner=learner), NOW, "other", comment='=cmd|"/c calc"!A1')
    SurveyReason.objects.filter(code="other").update(label="+Something else")
    responses = SurveyResponse.objects.all()

    rows = list(csv.reader(io.StringIO(survey.csv_bytes(responses).decode())))
    assert rows[0] == survey.HEADERS
    assert rows[1] == [
        NOW.isoformat(),
        "win-back-q4",
        "'=HYPERLINK(1)",
        "sam@example.com",
        "other",
        "'+Something else",
        '\'=cmd|"/c calc"!A1',
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(survey.xlsx_bytes(responses))).active
    assert sheet is not None
    cells = [cell.value for cell in sheet[2]]
    assert cells[2] == "'=HYPERLINK(1)" and cells[6] == '\'=cmd|"/c calc"!A1'
    assert all(cell.data_type != "f" for cell in sheet[2])
