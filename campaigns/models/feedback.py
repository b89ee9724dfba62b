"""What comes back from learners: survey answers."""

from __future__ import annotations

from django.db import models

from learners.models import Learner

from .building import Campaign
from .outbox import Send


class SurveyResponse(models.Model):
    """A learner's answer to “why did you stop?” (two clicks from the email)."""

    class Reason(models.TextChoices):
        NO_TIME = "no_time", "I didn't have time"
        NOT_RELEVANT = "not_relevant", "The course isn't relevant to my work"
        TOO_HARD = "too_hard", "It was too hard or too long"
        TECHNICAL = "technical", "Technical problems"
        FORGOT = "forgot", "I forgot about it"
        OTHER = "other", "Something else"

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="survey_responses")
    send = models.ForeignKey(
        Send, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.learner_id})"
