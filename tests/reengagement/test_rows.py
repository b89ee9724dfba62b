"""Many rows in one statement: every kind of value arrives as it was, compare-and-set leaves
a row that moved on alone, and an insert skips what a unique constraint already holds."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.models import EspEvent, Send
from reengagement.rows import insert_new, update_rows
from tests.campaigns.feedback.conftest import make_send
from tests.factories import NOW, CampaignFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def event(key: str, **fields: object) -> EspEvent:
    return EspEvent(
        esp="SendGrid",
        key=key,
        event_type="delivered",
        occurred_at=NOW,
        received_at=NOW,
        **fields,
    )


def test_update_rows_writes_each_rows_values_whatever_their_type() -> None:
    campaign = CampaignFactory.create()
    sends = [make_send(learner=LearnerFactory.create(), campaign=campaign) for _ in range(3)]
    later = NOW + dt.timedelta(hours=1, microseconds=250)
    values = [
        ("Ünïcode “quotes” ' \" \\ , {braces}", later, 2),
        ("", None, 0),
        ("a,b\nc", NOW, 9),
    ]
    for send, (error, opened, attempts) in zip(sends, values, strict=True):
        send.last_error, send.opened_at, send.attempts = error, opened, attempts
    written = update_rows(sends, ["last_error", "opened_at", "attempts"])
    assert written == {s.pk for s in sends}
    stored = Send.objects.filter(pk__in=written).order_by("pk")
    assert [(s.last_error, s.opened_at, s.attempts) for s in stored] == values


def test_update_rows_compare_and_set_leaves_a_row_that_moved_on() -> None:
    campaign = CampaignFactory.create()
    mine, taken = (
        make_send(learner=LearnerFactory.create(), campaign=campaign, status=Send.Status.QUEUED)
        for _ in range(2)
    )
    Send.objects.filter(pk=taken.pk).update(status=Send.Status.SENT)
    for send in (mine, taken):
        send.status = Send.Status.FAILED
    written = update_rows([mine, taken], ["status"], only_if_status=[Send.Status.QUEUED])
    assert written == {mine.pk}
    assert Send.objects.get(pk=taken.pk).status == Send.Status.SENT


@pytest.mark.postgres
def test_insert_new_skips_rows_already_stored_and_keeps_json_and_booleans() -> None:
    (first,) = insert_new(
        EspEvent, [event("a", raw={"n": [1, "x"]}, is_machine=True)], ["esp", "key"]
    )
    again = insert_new(
        EspEvent,
        [event("a"), event("b", raw={"nested": {"ok": None}}, metadata_send_id=2**40)],
        ["esp", "key"],
    )
    assert len(again) == 1 and first not in again
    stored = {e.key: e for e in EspEvent.objects.all()}
    assert (stored["a"].raw, stored["a"].is_machine) == ({"n": [1, "x"]}, True)
    assert (stored["b"].raw, stored["b"].metadata_send_id) == ({"nested": {"ok": None}}, 2**40)
    assert stored["b"].occurred_at == NOW and stored["b"].applied_at is None
