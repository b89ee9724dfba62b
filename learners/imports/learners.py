"""Learners and their managers, keyed by LMS id."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from import_export import fields

from learners import phones
from learners.erasure import suppress_erased
from learners.imports.base import BaseLearnerDataResource, ExternalIdLoader, column_values
from learners.imports.lms import LMS_LEARNER_COLUMNS, MOODLE_SITE_DEFAULT_ZONE
from learners.imports.widgets import TimestampWidget, canonical_time_zone, timestamp_field
from learners.lookups import LOOKUP_CHUNK, chunked
from learners.models import Learner, Manager, normalize_email, validate_time_zone


class LearnerResource(BaseLearnerDataResource):
    """Learners keyed by LMS id, with their manager given as ``manager_email``/``manager_name``.

    Contactability (unsubscribed, suppressed, sunset) is exported but never imported: a file
    from the LMS cannot re-subscribe anyone. ``last_active_at`` only moves forward.
    """

    manager_email = fields.Field(column_name="manager_email")
    manager_name = fields.Field(column_name="manager_name")
    manager_time_zone = fields.Field(column_name="manager_time_zone")
    manager_phone = fields.Field(column_name="manager_phone")
    manager_sms_consent_at = fields.Field(column_name="manager_sms_consent_at")
    last_active_at = timestamp_field("last_active_at")
    unsubscribed_at = timestamp_field("unsubscribed_at", readonly=True)
    suppressed_at = timestamp_field("suppressed_at", readonly=True)
    suppression_reason = fields.Field(
        attribute="suppression_reason", column_name="suppression_reason", readonly=True
    )
    sunset_at = timestamp_field("sunset_at", readonly=True)
    sms_consent_at = timestamp_field("sms_consent_at")
    sms_opted_out_at = timestamp_field("sms_opted_out_at", readonly=True)

    trusted_foreign_keys = ("manager",)
    required_columns = ("external_id", "email")
    column_aliases = LMS_LEARNER_COLUMNS
    # A full name, split when the file has no first and last name (Open edX's "name").
    extra_columns = ("full_name",)
    update_fields = (
        "email",
        "first_name",
        "last_name",
        "role",
        "team",
        "manager",
        "time_zone",
        "locale",
        "last_active_at",
        "phone",
        "sms_consent_at",
        "updated_at",
    )

    class Meta:
        model = Learner
        fields = (
            "external_id",
            "email",
            "first_name",
            "last_name",
            "role",
            "team",
            "manager_email",
            "manager_name",
            "manager_time_zone",
            "manager_phone",
            "manager_sms_consent_at",
            "time_zone",
            "locale",
            "last_active_at",
            "phone",
            "sms_consent_at",
            "sms_opted_out_at",
            "unsubscribed_at",
            "suppressed_at",
            "suppression_reason",
            "sunset_at",
        )
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader

    def get_queryset(self) -> QuerySet[Learner]:
        return Learner.objects.all()

    def filter_export(self, queryset: QuerySet[Learner], **kwargs: Any) -> QuerySet[Learner]:
        return queryset.select_related("manager")

    def dehydrate_manager_email(self, learner: Learner) -> str:
        return learner.manager.email if learner.manager else ""

    def dehydrate_manager_name(self, learner: Learner) -> str:
        return learner.manager.name if learner.manager else ""

    def dehydrate_manager_time_zone(self, learner: Learner) -> str:
        return learner.manager.time_zone if learner.manager else ""

    def dehydrate_manager_phone(self, learner: Learner) -> str:
        return learner.manager.phone if learner.manager else ""

    def dehydrate_manager_sms_consent_at(self, learner: Learner) -> str:
        consent = learner.manager.sms_consent_at if learner.manager else None
        return consent.isoformat() if consent else ""

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        emails = {normalize_email(value) for value in column_values(dataset, "email")}
        self._file_emails = emails
        self._email_owner: dict[str, str] = {}
        for chunk in chunked(sorted(emails), LOOKUP_CHUNK):
            self._email_owner.update(
                Learner.objects.filter(email__in=chunk).values_list("email", "external_id")
            )
        manager_emails = {
            normalize_email(value) for value in column_values(dataset, "manager_email")
        }
        self._file_emails |= manager_emails
        self._managers: dict[str, Manager] = {}
        for chunk in chunked(sorted(manager_emails), LOOKUP_CHUNK):
            self._managers.update((m.email, m) for m in Manager.objects.filter(email__in=chunk))
        self._manager_renames: dict[int, str] = {}
        # Changes to existing managers (time zone, number, SMS consent), written after the rows.
        self._manager_updates: dict[int, dict[str, Any]] = {}

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        for column in ("email", "manager_email"):
            if column in row:
                row[column] = normalize_email(str(row[column] or ""))
        if str(row.get("time_zone", "")) == MOODLE_SITE_DEFAULT_ZONE:
            row["time_zone"] = ""
        for column in ("time_zone", "manager_time_zone"):
            if row.get(column):
                row[column] = canonical_time_zone(str(row[column]))
        full_name = str(row.pop("full_name", "") or "")
        if full_name and not (row.get("first_name") or row.get("last_name")):
            first, _, last = full_name.partition(" ")
            row["first_name"], row["last_name"] = first, last.strip()
        # A blank time zone, locale, number or consent keeps what the learner has (or the
        # default), rather than failing the row or wiping a value the LMS simply did not export.
        for column in ("time_zone", "locale", "phone", "sms_consent_at"):
            if column in row and row[column] in (None, ""):
                del row[column]

    def import_instance(self, instance: Learner, row: dict[str, Any], **kwargs: Any) -> None:
        previous_activity = instance.last_active_at
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "phone" in row:
            try:
                instance.phone = phones.to_e164(str(row["phone"]))
            except phones.BadPhoneNumber as exc:
                errors.setdefault("phone", []).append(str(exc))
        if previous_activity and (
            instance.last_active_at is None or instance.last_active_at < previous_activity
        ):
            instance.last_active_at = previous_activity

        if instance.external_id:
            first = self.first_row_of(("external_id", instance.external_id))
            if first:
                errors.setdefault("external_id", []).append(
                    f"LMS id {instance.external_id} is also on row {first} of this file."
                )
        if instance.email:
            owner = self._email_owner.get(instance.email)
            if owner is not None and owner != instance.external_id:
                errors.setdefault("email", []).append(
                    f"{instance.email} belongs to another learner (LMS id {owner})."
                )
            first = self.first_row_of(("email", instance.email))
            if first:
                errors.setdefault("email", []).append(
                    f"{instance.email} is also on row {first} of this file."
                )
        if "manager_email" in row:
            try:
                self._assign_manager(instance, row)
            except ValidationError as exc:
                errors.setdefault("manager_email", []).extend(exc.messages)
        if errors:
            raise ValidationError(errors)

    def _assign_manager(self, instance: Learner, row: dict[str, Any]) -> None:
        email = row.get("manager_email") or ""
        name = str(row.get("manager_name") or "")
        zone = str(row.get("manager_time_zone") or "")
        phone = str(row.get("manager_phone") or "").strip()
        consent_text = str(row.get("manager_sms_consent_at") or "").strip()
        if not email:
            for value, what in ((name, "name"), (zone, "time zone"), (phone, "phone number"),
                                (consent_text, "SMS consent")):  # fmt: skip
                if value:
                    raise ValidationError(f"A manager {what} needs the manager's email.")
            instance.manager = None
            return
        validate_email(email)
        if zone:
            try:
                validate_time_zone(zone)
            except ValidationError as exc:
                raise ValidationError(f"manager_time_zone: {' '.join(exc.messages)}") from None
        changes: dict[str, Any] = {"time_zone": zone} if zone else {}
        if phone:
            try:
                changes["phone"] = phones.to_e164(phone)
            except phones.BadPhoneNumber as exc:
                raise ValidationError(f"manager_phone: {exc}") from None
        if consent_text:
            try:
                changes["sms_consent_at"] = TimestampWidget().clean(consent_text)
            except ValueError as exc:
                raise ValidationError(f"manager_sms_consent_at: {exc}") from None
        if email == instance.email:
            raise ValidationError("A learner cannot be their own manager.")
        manager = self._managers.get(email)
        if manager is None:
            # Saved only when a valid row needs it (before_save_instance): a bad row creates
            # no manager.
            manager = Manager(email=email, name=name, **changes)
            self._managers[email] = manager
        else:
            if manager.pk and name and name != manager.name:
                self._manager_renames[manager.pk] = name
            # A blank zone, number or consent keeps the manager's, as for a learner's.
            changed = {k: v for k, v in changes.items() if getattr(manager, k) != v}
            if changed and manager.pk:
                self._manager_updates.setdefault(manager.pk, {}).update(changed)
            elif changed:
                for key, value in changed.items():
                    setattr(manager, key, value)
        instance.manager = manager

    def skip_row(
        self,
        instance: Learner,
        original: Learner,
        row: dict[str, Any],
        import_validation_errors: dict[str, Any] | None = None,
    ) -> bool:
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        # The manager columns map to no model attribute, so import-export cannot compare them.
        if "manager_email" not in row:
            return True
        email = row.get("manager_email") or ""
        if not email:
            return original.manager_id is None
        manager = self._managers[email]
        return (
            manager.pk is not None
            and manager.pk == original.manager_id
            and manager.pk not in self._manager_renames
            and manager.pk not in self._manager_updates
        )

    def before_save_instance(self, instance: Learner, row: dict[str, Any], **kwargs: Any) -> None:
        email = row.get("manager_email")
        if email:
            manager = self._managers[email]
            if manager.pk is None:
                manager.save()
            instance.manager = manager
        if instance.pk is not None:
            # bulk_update does not apply auto_now.
            instance.updated_at = self.now

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        if self._manager_renames:
            renamed = [Manager(pk=pk, name=name) for pk, name in self._manager_renames.items()]
            Manager.objects.bulk_update(renamed, ["name"], batch_size=500)
        by_columns: dict[tuple[str, ...], list[Manager]] = {}
        for pk, changes in self._manager_updates.items():
            by_columns.setdefault(tuple(sorted(changes)), []).append(Manager(pk=pk, **changes))
        for columns, managers in by_columns.items():
            Manager.objects.bulk_update(managers, list(columns), batch_size=500)
        link_managers_to_learners()
        # An erased address that comes back in a file is created suppressed.
        suppress_erased(emails=self._file_emails, now=self.now)


def link_managers_to_learners() -> int:
    """Link every manager not yet linked to the learner with the same email, in one UPDATE."""
    same_email = Learner.objects.filter(email=OuterRef("email"))
    return (
        Manager.objects.filter(learner__isnull=True)
        .filter(Exists(same_email))
        .update(learner=Subquery(same_email.values("pk")[:1]))
    )
