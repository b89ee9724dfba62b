"""The default drip from the seed article, as a campaign staff can launch in one click.

Six emails over 21 days (or over days 0–7 for high-risk segments): "we saved your progress",
the next module, a manager nudge, a micro-incentive, early access to a cohort course, and a
final appeal. Where Slack is set up the manager's copy of the nudge goes as a Slack DM, and
where SMS is the high-risk version adds a text message on day 1. Each body is short (under 80
words) and has exactly one call to action: the button the layout adds, so the copy itself
carries no links.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction

from campaigns.building import checks
from campaigns.building.blueprint_steps import (
    BADGE_TITLE,
    EARLY_ACCESS_TITLE,
    SMS_NUDGE,
    SMS_NUDGE_TEXT,
    STEPS,
    BlueprintStep,
)
from campaigns.building.services import unique_campaign_slug
from campaigns.content.wording import (
    WELCOME_BACK_BODY,
    WELCOME_BACK_SUBJECT,
)
from campaigns.models import Audience, Campaign, Channel, Incentive, Segment, Step, Variant

DEMO_POSTAL_ADDRESS = "Example Corp, 1 Learning Way, 10115 Berlin, Germany"
DEMO_SEGMENTS: tuple[dict[str, object], ...] = (
    {
        "name": "Inactive 30–59 days",
        "description": "Paused a month or two ago: the full 21-day drip.",
        "min_inactive_days": 30,
        "max_inactive_days": 59,
    },
    {
        "name": "Inactive 60–89 days",
        "description": "Gone for two to three months.",
        "min_inactive_days": 60,
        "max_inactive_days": 89,
    },
    {
        "name": "Inactive 90+ days",
        "description": "Gone for a quarter or more: the last try before sunsetting.",
        "min_inactive_days": 90,
    },
    {
        "name": "Compliance, inactive 14+ days (high risk)",
        "description": "An unfinished compliance course: compressed timing (days 0–7).",
        "min_inactive_days": 14,
        "course_types": "compliance",
    },
)
DEMO_CAMPAIGN_SLUG = "win-back-inactive-30-59-days"


def _incentives() -> dict[str, Incentive]:
    """The blueprint's two incentives, shared by every campaign made from it."""
    specs = {
        BADGE_TITLE: {
            "kind": Incentive.Kind.BADGE,
            "description": "a badge for getting back on track",
            "expires_in_days": 14,
        },
        EARLY_ACCESS_TITLE: {
            "kind": Incentive.Kind.EARLY_ACCESS,
            "description": "a reserved seat before registration opens to everyone",
            "value": "the next live cohort course",
            "expires_in_days": 14,
        },
    }
    found: dict[str, Incentive] = {}
    for title, defaults in specs.items():
        # Staff may have made copies of an incentive by hand; any one of them will do.
        incentive = Incentive.objects.filter(title=title).order_by("pk").first()
        found[title] = incentive or Incentive.objects.create(title=title, **defaults)
    return found


def _default_from_email() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


@transaction.atomic
def create_blueprint_campaign(
    *,
    name: str,
    segment: Segment,
    compressed: bool = False,
    now: dt.datetime,
    from_name: str = "The Learning Team",
    from_email: str = "",
    postal_address: str = "",
    slug: str = "",
) -> Campaign:
    """A draft campaign with the six blueprint steps, ready to review and launch.

    ``compressed`` packs the same six emails into days 0–7, for high-risk segments
    (compliance, customer-facing roles) where three weeks is too slow. The sender address
    defaults to ``DEFAULT_FROM_EMAIL``; without a postal address the campaign cannot be
    launched until staff add one.
    """
    incentives = _incentives()
    timing = "days 0–7, compressed" if compressed else "days 0–21"
    campaign = Campaign.objects.create(
        name=name,
        slug=slug or unique_campaign_slug(name),
        description=f"The 6-email re-engagement blueprint ({timing}), created {now:%d %B %Y}.",
        segment=segment,
        # A reactivation counts within 14 days when the drip itself lasts a week.
        goal_window_days=14 if compressed else 30,
        # Five emails can fall in one week of the compressed drip; the default cap of three
        # would silently stretch it back out.
        weekly_cap=5 if compressed else 3,
        welcome_back_enabled=True,
        welcome_back_subject=WELCOME_BACK_SUBJECT,
        welcome_back_body=WELCOME_BACK_BODY,
        welcome_back_incentive=incentives[BADGE_TITLE],
        from_name=from_name,
        from_email=from_email or _default_from_email(),
        postal_address=postal_address,
    )
    _create_steps(campaign=campaign, compressed=compressed, incentives=incentives)
    return campaign


def _planned(compressed: bool) -> list[tuple[BlueprintStep, str, str]]:
    """The blueprint's steps on this installation, in order, each with its audience and
    channel: the manager nudge goes to managers by Slack (email where Slack does not know
    them) once Slack is set up, and the high-risk version adds a text message on day 1 once
    SMS is. Without those, the same steps go by email."""
    slack = checks.channel_setup_problem(Channel.SLACK) is None
    texts = compressed and checks.channel_setup_problem(Channel.SMS) is None
    planned: list[tuple[BlueprintStep, str, str]] = []
    for spec in STEPS:
        if spec.audience == Audience.BOTH and slack:
            planned.append((spec, Audience.LEARNER, Channel.EMAIL))
            planned.append((spec, Audience.MANAGER, Channel.SLACK))
        else:
            planned.append((spec, spec.audience, Channel.EMAIL))
        if texts and spec is STEPS[0]:
            planned.append((SMS_NUDGE, Audience.LEARNER, Channel.SMS))
    return planned


def _create_steps(
    *, campaign: Campaign, compressed: bool, incentives: dict[str, Incentive]
) -> None:
    variants: list[Variant] = []
    for position, (spec, audience, channel) in enumerate(_planned(compressed), start=1):
        day = spec.compressed_delay_days if compressed else spec.delay_days
        manager_copy = audience != Audience.LEARNER
        step = Step.objects.create(
            campaign=campaign,
            position=position,
            name=f"{spec.name} (Slack)" if channel == Channel.SLACK else spec.name,
            delay_days=day,
            audience=audience,
            channel=channel,
            subject=spec.subject,
            preheader=spec.preheader,
            body=spec.body,
            cta_label=spec.cta_label,
            cta_target=spec.cta_target,
            incentive=incentives[spec.incentive] if spec.incentive else None,
            manager_subject=spec.manager_subject if manager_copy else "",
            manager_body=spec.manager_body if manager_copy else "",
            manager_script=spec.manager_script if manager_copy else "",
            sms_body=SMS_NUDGE_TEXT if channel == Channel.SMS else "",
        )
        if spec.variant_b_subject:
            # A keeps the step's copy; B changes only the subject, so the test measures it.
            variants.append(Variant(step=step, label="A", weight=50))
            variants.append(
                Variant(step=step, label="B", weight=50, subject=spec.variant_b_subject)
            )
    Variant.objects.bulk_create(variants)


@transaction.atomic
def ensure_demo_campaign(*, now: dt.datetime) -> Campaign:
    """The demo's segments and its blueprint campaign on “Inactive 30–59 days”, created once.

    Safe to run again: existing segments and the campaign are left as staff edited them.
    """
    segments: dict[str, Segment] = {}
    for spec in DEMO_SEGMENTS:
        fields = dict(spec)
        name = str(fields.pop("name"))
        segments[name], _ = Segment.objects.get_or_create(name=name, defaults=fields)
    existing = Campaign.objects.filter(slug=DEMO_CAMPAIGN_SLUG).first()
    if existing is not None:
        return existing
    return create_blueprint_campaign(
        name="Win back: inactive 30–59 days",
        segment=segments["Inactive 30–59 days"],
        now=now,
        postal_address=DEMO_POSTAL_ADDRESS,
        slug=DEMO_CAMPAIGN_SLUG,
    )
