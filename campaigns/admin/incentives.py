"""Incentives that steps can carry."""

from __future__ import annotations

from django.contrib import admin

from campaigns.building.forms import IncentiveForm
from campaigns.models import Incentive


@admin.register(Incentive)
class IncentiveAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = IncentiveForm
    list_display = ["title", "kind", "value", "expires_in_days"]
    list_filter = ["kind"]
    search_fields = ["title", "description", "value"]
