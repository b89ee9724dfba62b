"""Writes staff make to campaigns from the admin: launch, pause, archive, duplicate, test sends.

The admin only calls these; every rule about what may change lives here, so it is tested
without a browser and holds for any other caller too.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from campaigns.building import checks
from campaigns.content import emails, templating
from campaigns.models import Audience, Campaign, CtaTarget, Enrollment, Send, Step, Variant
from learners.models import Learner

TEST_SUBJECT_PREFIX = "[Test] "


def _fields_problems(where: str, obj: object, fields: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for field in fields:
        label = f"{where}, {field.replace('_', ' ')}"
        problems += _template_problems(label, getattr(obj, field))
    return problems


def _template_problems(label: str, source: str) -> list[str]:
    if not source:
        return []
    try:
        templating.validate_template(source, field=label)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _step_problems(step: Step) -> list[str]:
    where = f"Step {step.position} ({step.name or step.subject})"
    problems: list[str] = []
    problems += _fields_problems(where, step, ("subject", "preheader", "body", "cta_label"))
    if not step.subject.strip() or not step.body.strip() or not step.cta_label.strip():
        problems.append(f"{where}: needs a subject, a body and a CTA label")
    if step.cta_target == CtaTarget.URL and not step.cta_url:
        problems.append(f"{where}: the CTA leads to a URL but no URL is set")
    if problem := checks.cta_url_problem(step.cta_url):
        problems.append(f"{where}: the CTA URL {problem}")
    if step.audience in (Audience.MANAGER, Audience.BOTH):
        for field in ("manager_subject", "manager_body", "manager_script"):
            problems += _template_problems(
                f"{where}, {field.replace('_', ' ')}", getattr(step, field)
            )
        if not (step.manager_subject.strip() and step.manager_body.strip()):
            problems.append(f"{where}: goes to managers but has no manager subject and body")
    problems += [f"{where}: {problem}" for problem in checks.channel_problems(step)]
    variants = list(step.variants.all())
    if variants and sum(v.weight for v in variants) <= 0:
        problems.append(f"{where}: the variants' weights add up to 0; give at least one a weight")
    for variant in variants:
        problems += _variant_problems(where, variant, step)
    return problems


def _variant_problems(where: str, variant: Variant, step: Step) -> list[str]:
    label = f"{where}, variant {variant.label}"
    problems: list[str] = []
    for field in ("subject", "preheader", "body", "cta_label"):
        problems += _template_problems(
            f"{label}, {field.replace('_', ' ')}", getattr(variant, field)
        )
    target = variant.cta_target or step.cta_target
    if target == CtaTarget.URL and not (variant.cta_url or step.cta_url):
        problems.append(f"{label}: the CTA leads to a URL but no URL is set")
    if problem := checks.cta_url_problem(variant.cta_url):
        problems.append(f"{label}: the CTA URL {problem}")
    return problems


def campaign_problems(campaign: Campaign) -> list[str]:
    """Everything that stops ``campaign`` from going out, in words staff can act on.

    An empty list means it may be launched.
    """
    problems: list[str] = []
    steps = list(
        campaign.steps.select_related("incentive").prefetch_related("variants").order_by("position")
    )
    if not steps:
        problems.append("The campaign has no steps; add at least one email.")
    if not campaign.from_email:
        problems.append("No sender address: fill in “From email”.")
    for field, label in (
        ("from_name", "From name"),
        ("from_email", "From email"),
        ("reply_to", "Reply-to"),
    ):
        if problem := checks.header_problem(getattr(campaign, field)):
            problems.append(f"{label} {problem}.")
    if problem := checks.link_problem(campaign.postal_address):
        problems.append(f"Postal address {problem}.")
    for incentive in {s.incentive for s in steps if s.incentive} | (
        {campaign.welcome_back_incentive} if campaign.welcome_back_incentive else set()
    ):
        for field in ("title", "description", "value"):
            if problem := checks.link_problem(getattr(incentive, field)):
                problems.append(f"Incentive “{incentive.title}”, {field}: {problem}.")
    if not campaign.postal_address.strip():
        # The law (CAN-SPAM, and most ESPs' terms) wants it in every email's footer.
        problems.append("No postal address: every email's footer must show one.")
    if not campaign.weekday_list:
        problems.append("No sending weekdays: pick at least one day mail may go out.")
    if campaign.welcome_back_enabled:
        problems += _template_problems("Welcome back subject", campaign.welcome_back_subject)
        problems += _template_problems("Welcome back body", campaign.welcome_back_body)
    for step in steps:
        problems += _step_problems(step)
    return problems


def _change_status(*, campaign: Campaign, allowed_from: set[str], to: str, verb: str) -> Campaign:
    if campaign.status not in allowed_from:
        raise ValidationError(
            f"“{campaign}” is {campaign.get_status_display().lower()} and cannot be {verb}."
        )
    campaign.status = to
    return campaign


@transaction.atomic
def launch_campaign(*, campaign: Campaign, now: dt.datetime) -> Campaign:
    """Start sending: a draft or paused campaign becomes active once nothing is wrong with it.

    Raises ValidationError listing every problem; then nothing changes.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _change_status(
        campaign=campaign,
        allowed_from={Campaign.Status.DRAFT, Campaign.Status.PAUSED},
        to=Campaign.Status.ACTIVE,
        verb="launched",
    )
    problems = campaign_problems(campaign)
    if problems:
        raise ValidationError(problems)
    # Keep the first launch: results count from it, a resume after a pause is not a new start.
    campaign.launched_at = campaign.launched_at or now
    campaign.save(update_fields=["status", "launched_at", "updated_at"])
    return campaign


@transaction.atomic
def pause_campaign(*, campaign: Campaign, now: dt.datetime) -> Campaign:
    """Stop creating sends for an active campaign; enrollments wait where they are."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _change_status(
        campaign=campaign,
        allowed_from={Campaign.Status.ACTIVE},
        to=Campaign.Status.PAUSED,
        verb="paused",
    )
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@transaction.atomic
def archive_campaign(*, campaign: Campaign, now: dt.datetime) -> Campaign:
    """Retire a campaign for good; its results stay. Duplicate it to run it again."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _change_status(
        campaign=campaign,
        allowed_from={Campaign.Status.DRAFT, Campaign.Status.ACTIVE, Campaign.Status.PAUSED},
        to=Campaign.Status.ARCHIVED,
        verb="archived",
    )
    campaign.save(update_fields=["status", "updated_at"])
    # Its learners are free for other campaigns (one active enrollment each), and nothing it
    # still had pending stays in the in-flight indexes. Enrollments first, then sends: the
    # order every writer of both keeps.
    Enrollment.objects.filter(campaign=campaign, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.EXITED,
        ended_at=now,
        next_step=None,
        next_due_at=None,
        exit_reason="campaign archived",
    )
    Send.objects.filter(campaign=campaign, status__in=Send.PENDING).update(
        status=Send.Status.SKIPPED, skip_reason="campaign archived"
    )
    return campaign


def unique_campaign_slug(name: str) -> str:
    """A slug for ``name`` that no campaign uses yet (``win-back``, ``win-back-2`` …)."""
    max_length = Campaign._meta.get_field("slug").max_length or 100
    base = slugify(name)[: max_length - 4].strip("-") or "campaign"
    taken = set(Campaign.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


@transaction.atomic
def duplicate_campaign(*, campaign: Campaign) -> Campaign:
    """A draft copy of ``campaign`` with its steps and variants, ready to edit and launch.

    Incentives are shared, not copied: they describe an offer, not a campaign.
    """
    steps = list(campaign.steps.prefetch_related("variants").order_by("position"))
    copy = Campaign.objects.get(pk=campaign.pk)
    copy.pk = None
    copy.name = f"Copy of {campaign.name}"[: Campaign._meta.get_field("name").max_length]
    copy.slug = unique_campaign_slug(copy.name)
    copy.status = Campaign.Status.DRAFT
    copy.launched_at = None
    # An explicit UTM campaign would credit the copy's clicks to the original.
    if copy.utm_campaign == campaign.slug:
        copy.utm_campaign = ""
    copy.save()
    new_variants: list[Variant] = []
    for step in steps:
        variants = list(step.variants.all())
        step.pk = None
        step.campaign = copy
        step.save()
        for variant in variants:
            variant.pk = None
            variant.step = step
            new_variants.append(variant)
    Variant.objects.bulk_create(new_variants)
    return copy


def send_test_email(
    *,
    step: Step,
    variant: Variant | None,
    to: str,
    learner: Learner,
    now: dt.datetime,
    audience: str = Audience.LEARNER,
) -> emails.RenderedEmail:
    """Email ``to`` the step as ``learner`` (or their manager) would get it, marked as a test.

    Links in a test lead straight to their destination: nothing is tracked or recorded.
    """
    if not to:
        raise ValidationError("Your user account has no email address to send the test to.")
    try:
        rendered = emails.render_preview(
            step=step, variant=variant, audience=audience, learner=learner, now=now, to=to
        )
    except templating.RenderError as exc:
        raise ValidationError(f"This email cannot be rendered for {learner}: {exc}") from exc
    message = rendered.as_message()
    message.subject = TEST_SUBJECT_PREFIX + rendered.subject
    message.send()
    return rendered
