"""The discount code pool staff import, and the awards export."""

from __future__ import annotations

import pytest
import tablib

from campaigns.building.codes import AwardResource, DiscountCodeResource
from campaigns.models import Award, DiscountCode, Enrollment
from tests.campaigns.conftest import day, make_drip
from tests.factories import IncentiveFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def dataset(*rows: tuple[object, str]) -> tablib.Dataset:
    return tablib.Dataset(*rows, headers=["incentive", "code"])


def test_codes_import_once_into_a_discount_incentive():
    discount = IncentiveFactory.create(kind="discount_code")
    rows = dataset((discount.pk, " SAVE-1 "), (discount.pk, "SAVE-2"))

    first = DiscountCodeResource().import_data(rows, dry_run=False)
    again = DiscountCodeResource().import_data(rows, dry_run=False)

    assert not first.has_errors() and not first.has_validation_errors()
    assert first.totals["new"] == 2 and again.totals["new"] == 0
    assert sorted(DiscountCode.objects.values_list("code", flat=True)) == ["SAVE-1", "SAVE-2"]


def test_a_code_for_another_kind_of_incentive_or_an_empty_one_is_refused():
    badge = IncentiveFactory.create(kind="badge", title="Comeback badge")
    discount = IncentiveFactory.create(kind="discount_code")

    result = DiscountCodeResource().import_data(
        dataset((badge.pk, "X-1"), (discount.pk, "")), dry_run=False
    )

    assert len(result.invalid_rows) == 2
    errors = [row.error_dict for row in result.invalid_rows]
    assert "is not a discount code incentive" in str(errors[0]) and "Comeback badge" in str(
        errors[0]
    )
    assert "A code cannot be empty." in str(errors[1])
    assert not DiscountCode.objects.exists()


def test_the_awards_export_is_formula_safe_and_names_the_learner_by_lms_id():
    campaign = make_drip()
    learner = LearnerFactory.create(external_id="LMS-9")
    enrollment = Enrollment.objects.create(campaign=campaign, learner=learner, enrolled_at=day(0))
    send = enrollment.sends.create(
        campaign=campaign,
        learner=learner,
        audience="learner",
        status="sent",
        step=campaign.steps.first(),
        due_at=day(0),
        created_at=day(0),
        sent_at=day(0),
    )
    incentive = IncentiveFactory.create(kind="discount_code")
    Award.objects.create(
        learner=learner,
        enrollment=enrollment,
        incentive=incentive,
        send=send,
        kind="discount_code",
        title="20% off",
        code="=HYPERLINK(1)",
        returned_at=day(1),
        awarded_at=day(1),
    )

    exported = AwardResource().export()

    row = dict(zip(exported.headers, exported[0], strict=True))
    assert row["learner"] == "LMS-9"
    assert row["campaign"] == campaign.slug
    assert row["code"] == "'=HYPERLINK(1)"
    assert row["pushed to LMS"] == ""
