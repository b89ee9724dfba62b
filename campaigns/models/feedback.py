"""What comes back from learners: survey answers, and the list of answers staff offer."""

from __future__ import annotations

from django.db import models

from learners.models import Learner

from .building import Campaign
from .outbox import Send


class SurveyReason(models.Model):
    """One answer the “why did you stop?” page offers. Staff edit the list; answers keep the
    code, so a label can be reworded without changing what earlier answers mean."""

    code = models.SlugField(
        max_length=20,
        unique=True,
        help_text="What segments and exports name it by, e.g. “no_time”. Keep it once used.",
    )
    label = models.CharField(max_length=200, help_text="What the learner reads and clicks.")
    position = models.PositiveSmallIntegerField(default=100, help_text="Lower shows first.")
    is_active = models.BooleanField(
        "offered", default=True, help_text="Off: no longer offered; earlier answers stay."
    )

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class SurveyResponse(models.Model):
    """A learner's answer to “why did you stop?” (two clicks from the email)."""

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="survey_responses")
    send = models.ForeignKey(
        Send, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    # The code of a SurveyReason (kept as a code so that the answer outlives the list's edits).
    reason = models.CharField(max_length=20)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["reason", "learner"], name="survey_reason_idx")]

    def __str__(self) -> str:
        return f"{self.reason} ({self.learner_id})"
