"""Incentives that were really given: awards, the pool of discount codes staff import, and the
outbox of awards pushed to the LMS."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from learners.models import Learner

from .building import Incentive
from .outbox import Enrollment, Send


class Award(models.Model):
    """An incentive a learner earned by coming back after an email that carried it.

    Once per enrollment and incentive (a unique constraint): a pass run twice, or two passes,
    record it once. ``send`` is the first email of the enrollment that promised it.
    """

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="awards")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="awards")
    incentive = models.ForeignKey(Incentive, on_delete=models.PROTECT, related_name="awards")
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="awards")
    # Copies of the incentive's, as it was when awarded: staff may edit the incentive later.
    kind = models.CharField(max_length=20, choices=Incentive.Kind.choices)
    title = models.CharField(max_length=200)
    value = models.CharField(max_length=200, blank=True)
    # A discount code from the pool; empty while the pool has none left (given when staff
    # import more).
    code = models.CharField(max_length=100, blank=True)
    returned_at = models.DateTimeField(help_text="When the learner came back.")
    awarded_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-awarded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "incentive"], name="award_once"),
        ]
        indexes = [
            models.Index(
                fields=["incentive", "id"],
                name="award_waiting_code_idx",
                condition=Q(kind="discount_code", code=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} for {self.learner_id}"


class DiscountCode(models.Model):
    """One code of a discount incentive's pool, imported by staff and given at most once."""

    incentive = models.ForeignKey(Incentive, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=100)
    imported_at = models.DateTimeField(auto_now_add=True)
    # One-to-one: a code goes to one award, an award gets one code.
    award = models.OneToOneField(
        Award, null=True, blank=True, on_delete=models.SET_NULL, related_name="discount_code"
    )

    class Meta:
        ordering = ["incentive", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incentive", "code"], name="discount_code_unique"),
        ]
        indexes = [
            models.Index(
                fields=["incentive", "id"], name="discount_code_free_idx", condition=Q(award=None)
            ),
        ]

    def __str__(self) -> str:
        return self.code


class AwardPush(models.Model):
    """The outbox of awards told to the LMS: one row per award, claimed by a worker, marked
    before the HTTP call, retried with back-off. The idempotency key goes with every attempt,
    so an LMS that got a request whose answer we never recorded can tell it is the same."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        PUSHED = "pushed", "Pushed"
        FAILED = "failed", "Gave up"

    award = models.OneToOneField(Award, on_delete=models.CASCADE, related_name="push")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "award pushed to the LMS"
        verbose_name_plural = "awards pushed to the LMS"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="award_push_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"push of award {self.award_id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return f"award-{self.award_id}"
