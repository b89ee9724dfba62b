"""What staff decided from the results: the audit trail of A/B winners applied."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .building import Campaign, Step, Variant


class CampaignResult(Campaign):
    """A campaign seen through its results: the admin's results pages hang off this proxy.

    No permissions of its own: the results are guarded by ``campaigns.view_results``.
    """

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "campaign result"
        verbose_name_plural = "campaign results"


class WinnerApplied(models.Model):
    """One "Apply the winner" on a step: who, when, and the figures they saw at that moment.

    The figures are kept as they were shown (rates, intervals, corrected p-values), so a later
    look at the same step, with more data, never rewrites why the decision was taken.
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="winners_applied")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField()
    figures = models.JSONField(help_text="The step's A/B figures when the winner was applied.")

    class Meta:
        ordering = ["-applied_at"]
        verbose_name = "A/B winner applied"
        verbose_name_plural = "A/B winners applied"

    def __str__(self) -> str:
        return f"{self.step}: variant {self.variant.label} applied {self.applied_at:%Y-%m-%d}"
