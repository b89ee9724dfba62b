"""A manager's mobile number and SMS consent (for nudges by text message) come in on the
learners file: stored in E.164, a bad number refused for its row and named, a blank keeping
what the manager has."""

from __future__ import annotations

import datetime as dt

import pytest

from learners.imports.learners import LearnerResource
from learners.models import Manager
from tests.factories import LearnerFactory, ManagerFactory
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run

pytestmark = pytest.mark.django_db

HEADER = "external_id,email,manager_email,manager_phone,manager_sms_consent_at"


def test_new_and_existing_managers_numbers_and_consent_with_bad_rows_named() -> None:
    ManagerFactory.create(email="kept@example.com", phone="+4915112345678")
    ManagerFactory.create(email="moved@example.com", phone="+4915112345678")
    summary = run(
        "learners",
        csv_text(
            HEADER,
            "L1,a@example.com,new@example.com,+44 7911 123456,2026-11-02",
            "L2,b@example.com,kept@example.com,,",
            "L3,c@example.com,moved@example.com,+1 212 736 5000,2026-11-30T08:00:00Z",
            "L4,d@example.com,bad@example.com,12,",
            "L5,e@example.com,late@example.com,,yesterday",
            "L6,f@example.com,,+4915112345678,",
        ),
    )
    assert [str(error) for error in summary.errors] == [
        "row 5: manager_email: manager_phone: “12” is not a phone number; write it with its "
        "country code, e.g. +4915112345678",
        "row 6: manager_email: manager_sms_consent_at: 'yesterday' is not a date and time "
        "(use e.g. 2026-11-30T14:05:00Z).",
        "row 7: manager_email: A manager phone number needs the manager's email.",
    ]
    managers = {m.email: (m.phone, m.sms_consent_at) for m in Manager.objects.all()}
    assert managers == {
        "new@example.com": ("+447911123456", dt.datetime(2026, 11, 2, tzinfo=dt.UTC)),
        "kept@example.com": ("+4915112345678", None),
        "moved@example.com": ("+12127365000", dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
    }


def test_the_export_carries_the_managers_number_and_consent() -> None:
    consent = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    LearnerFactory.create(
        manager=ManagerFactory.create(phone="+447911123456", sms_consent_at=consent)
    )
    row = LearnerResource().export().dict[0]
    # Formula-safe, as every exported cell starting with "+": the import reads it back.
    assert (row["manager_phone"], row["manager_sms_consent_at"]) == (
        "'+447911123456",
        "2026-11-02T09:00:00+00:00",
    )
