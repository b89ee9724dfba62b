"""Discount codes staff import into an incentive's pool, and the awards they can export.

Both go through django-import-export: codes are matched by (incentive, code), so importing a
file twice adds nothing; a code already given is never changed. Exports are formula-safe.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from campaigns.models import Award, DiscountCode, Incentive
from learners.imports.widgets import neutralize_formula


class FormulaSafe(resources.ModelResource):
    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return neutralize_formula(super().export_field(field, instance, **kwargs))


class DiscountCodeResource(FormulaSafe):
    """Columns ``incentive`` (the incentive's id, shown in the admin) and ``code``."""

    incentive = fields.Field(
        attribute="incentive", column_name="incentive", widget=ForeignKeyWidget(Incentive, "pk")
    )
    given = fields.Field(column_name="given", readonly=True)

    class Meta:
        model = DiscountCode
        fields = ("incentive", "code", "given")
        import_id_fields = ("incentive", "code")
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        row["code"] = str(row.get("code") or "").strip()

    def import_instance(self, instance: DiscountCode, row: Any, **kwargs: Any) -> None:
        super().import_instance(instance, row, **kwargs)
        if not instance.code:
            raise ValidationError({"code": "A code cannot be empty."})
        if instance.incentive.kind != Incentive.Kind.DISCOUNT_CODE:
            raise ValidationError(
                {"incentive": f"“{instance.incentive.title}” is not a discount code incentive."}
            )

    def dehydrate_given(self, code: DiscountCode) -> str:
        return "yes" if code.award_id else "no"


class AwardResource(FormulaSafe):
    """Every award with the learner's LMS id, what was given, and whether the LMS has it."""

    learner = fields.Field(attribute="learner__external_id", column_name="learner")
    campaign = fields.Field(attribute="enrollment__campaign__slug", column_name="campaign")
    pushed = fields.Field(column_name="pushed to LMS")

    class Meta:
        model = Award
        fields = (
            "id",
            "learner",
            "campaign",
            "kind",
            "title",
            "value",
            "code",
            "send",
            "returned_at",
            "awarded_at",
            "expires_at",
            "pushed",
        )
        export_order = fields

    def dehydrate_pushed(self, award: Award) -> str:
        push = getattr(award, "push", None)
        return push.get_status_display() if push is not None else ""
