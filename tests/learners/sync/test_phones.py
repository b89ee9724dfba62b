"""The nightly sync's numbers: E.164, a bad one its row's error naming it, the good rows
applied; a blank keeps the stored number."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from learners.models import Learner
from learners.sync.bulk import sync_learners
from tests.factories import LearnerFactory

from ..conftest import csv_text

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@override_settings(PHONE_DEFAULT_REGION="DE")
def test_the_sync_stores_e164_and_refuses_a_bad_number_per_row(write_file) -> None:
    LearnerFactory.create(external_id="L4", email="dee@example.com", phone="+4915112345670")
    path = write_file(
        "all.csv",
        csv_text(
            "external_id,email,first_name,phone",
            "L1,ana@example.com,Ana,+49 151 1234 5678",
            "L2,bo@example.com,Bo,0151 12345679",
            "L3,cy@example.com,Cy,+1 555",
            "L4,dee@example.com,Dee,",
        ),
    )
    summary = sync_learners(path=path, now=NOW)
    assert [str(error) for error in summary.errors] == [
        "row 4: phone: “+1 555” is not a valid phone number"
    ]
    assert (summary.created, summary.updated) == (2, 1)
    assert dict(Learner.objects.values_list("external_id", "phone")) == {
        "L1": "+4915112345678",
        "L2": "+4915112345679",
        "L4": "+4915112345670",
    }
