"""The funnel counts people: a scanner's click and a machine open are kept but left out."""

from __future__ import annotations

import pytest

from campaigns.feedback import subscriptions
from campaigns.reports.results import campaign_results
from tests.campaigns.reports.conftest import campaign, days, enroll, send
from tests.factories import NOW, StepFactory

pytestmark = pytest.mark.django_db


def test_only_a_persons_click_counts_in_the_funnel() -> None:
    drip = campaign()
    step = StepFactory.create(campaign=drip, position=1)
    scanned, read = (send(enroll(drip), step, sent_at=NOW) for _ in range(2))
    # A link scanner's HEAD the moment the mail arrives; a person's GET the next day.
    subscriptions.record_click(send_id=scanned.pk, now=NOW, method="HEAD")
    subscriptions.record_click(send_id=read.pk, now=NOW + days(1), user_agent="Mozilla/5.0")
    results = campaign_results(campaign=drip, now=NOW + days(40))
    (row,) = [r for r in results.step_rows if r.step_id == step.pk]
    assert (row.final.sent, row.final.clicked) == (2, 1)
    assert scanned.clicks.get().is_automated
