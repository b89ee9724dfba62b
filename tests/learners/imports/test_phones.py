"""Mobile numbers on import: stored in E.164, a bad one refused as its row's error naming it,
the good rows saved; consent imported, an opt-out never cleared by a file."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from learners.models import Learner
from tests.factories import LearnerFactory
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run

pytestmark = pytest.mark.django_db

HEADER = "external_id,email,first_name,phone,sms_consent_at"


@override_settings(PHONE_DEFAULT_REGION="DE")
def test_numbers_are_stored_in_e164_and_a_bad_one_is_its_rows_error() -> None:
    summary = run(
        "learners",
        csv_text(
            HEADER,
            "L1,ana@example.com,Ana,+49 151 1234 5678,2026-11-01T10:00:00Z",
            "L2,bo@example.com,Bo,0151 12345679,",
            "L3,cy@example.com,Cy,12,",
            "L4,dee@example.com,Dee,call me,",
            "L5,eli@example.com,Eli,,",
        ),
    )
    assert [str(error) for error in summary.errors] == [
        "row 4: phone: “12” is not a valid phone number",
        "row 5: phone: “call me” is not a phone number; write it with its country code, "
        "e.g. +4915112345678",
    ]
    stored = dict(Learner.objects.values_list("external_id", "phone"))
    assert stored == {"L1": "+4915112345678", "L2": "+4915112345679", "L5": ""}
    ana = Learner.objects.get(external_id="L1")
    assert ana.sms_consent_at == dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


def test_a_blank_number_keeps_the_stored_one_and_an_opt_out_stays() -> None:
    opted = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    LearnerFactory.create(
        external_id="L1", email="ana@example.com", phone="+4915112345678", sms_opted_out_at=opted
    )
    summary = run(
        "learners",
        csv_text(
            "external_id,email,first_name,phone,sms_consent_at,sms_opted_out_at",
            "L1,ana@example.com,Ana,,2026-11-25T10:00:00Z,",
        ),
    )
    assert summary.errors == []
    ana = Learner.objects.get()
    assert ana.phone == "+4915112345678"
    assert ana.sms_opted_out_at == opted
