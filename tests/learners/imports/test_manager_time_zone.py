"""A manager's time zone (for the weekly digest) comes in on the learners file, like the
learner's own: validated, canonical, a blank keeps what the manager has."""

from __future__ import annotations

import pytest

from learners.models import Manager
from tests.factories import ManagerFactory
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run

pytestmark = pytest.mark.django_db

HEADER = "external_id,email,manager_email,manager_name,manager_time_zone"


def test_it_sets_new_and_existing_managers_zones_and_reports_bad_ones() -> None:
    ManagerFactory.create(email="kept@example.com", time_zone="Europe/Paris")
    ManagerFactory.create(email="moved@example.com", time_zone="Europe/Paris")
    summary = run(
        "learners",
        csv_text(
            HEADER,
            "L1,a@example.com,new@example.com,Nia New,america/new_york",
            "L2,b@example.com,kept@example.com,,",
            "L3,c@example.com,moved@example.com,,Asia/Tokyo",
            "L4,d@example.com,bad@example.com,,Mars/Olympus",
            "L5,e@example.com,,,Asia/Tokyo",
        ),
    )
    assert [str(error) for error in summary.errors] == [
        "row 5: manager_email: manager_time_zone: Mars/Olympus is not an IANA time zone "
        "(e.g. Europe/Berlin)",
        "row 6: manager_email: A manager time zone needs the manager's email.",
    ]
    zones = dict(Manager.objects.values_list("email", "time_zone"))
    assert zones == {
        "new@example.com": "America/New_York",
        "kept@example.com": "Europe/Paris",
        "moved@example.com": "Asia/Tokyo",
    }


def test_the_export_carries_the_managers_zone() -> None:
    from learners.imports.learners import LearnerResource
    from tests.factories import LearnerFactory

    LearnerFactory.create(manager=ManagerFactory.create(time_zone="Europe/Berlin"))
    exported = LearnerResource().export()
    assert exported.dict[0]["manager_time_zone"] == "Europe/Berlin"
