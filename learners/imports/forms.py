"""The admin's import forms with a saved column mapping to choose, and the mapping's own form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from import_export.forms import ConfirmImportForm, ImportForm

from learners.imports.columns import format_mapping, parse_mapping
from learners.imports.files import RESOURCES
from learners.models import ColumnMapping

SOURCE_HELP = (
    "The columns of Moodle, Totara, Canvas and Open edX user exports are recognised as they "
    "come; choose a saved mapping when this source names its columns differently."
)


class MappedImportForm(ImportForm):
    """The upload form, with the source whose saved column mapping applies."""

    source = forms.ModelChoiceField(
        queryset=ColumnMapping.objects.none(),
        required=False,
        empty_label="(columns as they are)",
        help_text=SOURCE_HELP,
    )
    field_order = ["resource", "import_file", "format", "source"]

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["source"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ColumnMapping.objects.filter(kind=kind)


class MappedConfirmImportForm(ConfirmImportForm):
    """The confirm step carries the chosen source on to the real import."""

    source = forms.ModelChoiceField(
        queryset=ColumnMapping.objects.all(), required=False, widget=forms.HiddenInput()
    )


# ModelForm is generic only in django-stubs.
class ColumnMappingForm(forms.ModelForm):  # type: ignore[type-arg]
    """The mapping as lines of “their column = our column”, checked against our columns."""

    lines = forms.CharField(
        label="columns",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One per line: the file's column = our column, e.g. “Employee no = external_id”.",
    )

    class Meta:
        model = ColumnMapping
        fields = ("kind", "source")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["lines"].initial = format_mapping(self.instance.columns)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            mapping = parse_mapping(cleaned.get("lines", ""))
        except ValueError as exc:
            raise ValidationError({"lines": str(exc)}) from None
        kind = cleaned.get("kind") or ColumnMapping.Kind.LEARNERS
        known = RESOURCES[kind]().known_columns()
        unknown = sorted({ours for ours in mapping.values() if ours not in known})
        if unknown:
            raise ValidationError(
                {
                    "lines": f"Not a column of ours: {', '.join(unknown)} "
                    f"(ours are: {', '.join(known)})."
                }
            )
        cleaned["columns"] = mapping
        return cleaned

    def save(self, commit: bool = True) -> ColumnMapping:
        self.instance.columns = self.cleaned_data["columns"]
        return super().save(commit=commit)
