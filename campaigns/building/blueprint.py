"""The default drip from the seed article, as a campaign staff can launch in one click.

Six emails over 21 days (or over days 0–7 for high-risk segments): "we saved your progress",
the next module, a manager nudge, a micro-incentive, early access to a cohort course, and a
final appeal. Each body is short (under 80 words) and has exactly one call to action: the
button the layout adds, so the copy itself carries no links.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction

from campaigns.building.services import unique_campaign_slug
from campaigns.models import Audience, Campaign, CtaTarget, Incentive, Segment, Step, Variant

BADGE_TITLE = "Comeback badge"
EARLY_ACCESS_TITLE = "Early access to the next cohort"


@dataclass(frozen=True)
class BlueprintStep:
    name: str
    delay_days: int
    compressed_delay_days: int
    audience: str
    subject: str
    preheader: str
    body: str
    cta_label: str
    cta_target: str = CtaTarget.RESUME
    incentive: str = ""  # BADGE_TITLE or EARLY_ACCESS_TITLE
    manager_subject: str = ""
    manager_body: str = ""
    manager_script: str = ""
    # An A/B test of the subject line, the first thing worth testing (seed article).
    variant_b_subject: str = ""


# What campaigns.content.emails puts in place of data a learner does not have. The copy
# below branches on these so that a stand-in never reads as a name ("Next up: the next
# module"), and claims nothing it does not know: no "0 minutes", no "0% done".
KNOWN_FIRST_NAME = 'first_name != "there"'
KNOWN_COURSE = 'course_title != "your course"'
KNOWN_LAST_MODULE = 'last_module != "the last module"'
KNOWN_NEXT_MODULE = 'next_module != "the next module"'


def _if(condition: str, then: str, otherwise: str = "") -> str:
    """``{% if condition %}then{% else %}otherwise{% endif %}``, for readable copy below."""
    if not otherwise:
        return f"{{% if {condition} %}}{then}{{% endif %}}"
    return f"{{% if {condition} %}}{then}{{% else %}}{otherwise}{{% endif %}}"


# A learner named by their first name, else by their full name (or, lacking one, email).
LEARNER_NAME = _if(KNOWN_FIRST_NAME, "{{ first_name }}", "{{ full_name }}")
MANAGER_GREETING = _if("manager_first_name", "Hi {{ manager_first_name }},", "Hello,")

STEPS: tuple[BlueprintStep, ...] = (
    BlueprintStep(
        name="We saved your progress",
        delay_days=0,
        compressed_delay_days=0,
        audience=Audience.LEARNER,
        subject=_if(
            KNOWN_COURSE,
            _if(KNOWN_FIRST_NAME, "{{ first_name }}, w", "W")
            + "e saved your progress in {{ course_title }}",
            "Your learning is waiting",
        ),
        preheader=_if(
            KNOWN_NEXT_MODULE,
            "Pick up at {{ next_module }} in one click.",
            "Pick up where you left off in one click.",
        ),
        body=(
            "Hi {{ first_name }},\n\n"
            "{% if percent_complete %}You're {{ percent_complete }}% through {{ course_title }}, "
            "and everything you've done is saved."
            + _if(KNOWN_LAST_MODULE, " You finished {{ last_module }}.")
            + _if(
                KNOWN_NEXT_MODULE,
                " The button below opens {{ next_module }} right where you stopped.",
                " The button below takes you right where you stopped.",
            )
            + "\n\nNo need to start over.{% else %}"
            + _if(
                KNOWN_COURSE,
                "{{ course_title }} is waiting for you, and your place is saved: "
                + _if(
                    KNOWN_NEXT_MODULE,
                    "the button below opens {{ next_module }}, the first step.",
                    "the button below opens it at the start.",
                ),
                "Your learning is waiting for you: the button below takes you straight back.",
            )
            + "{% endif %}"
        ),
        cta_label="Resume where you stopped",
        variant_b_subject=_if(
            KNOWN_COURSE,
            "Pick up {{ course_title }} where you left off",
            "Pick up where you left off",
        ),
    ),
    BlueprintStep(
        name="Next module",
        delay_days=3,
        compressed_delay_days=1,
        audience=Audience.LEARNER,
        # Subjects and preheaders hold 200 characters, hence the elif written out.
        subject=(
            f"{{% if {KNOWN_NEXT_MODULE} %}}Next up: {{{{ next_module }}}}"
            f"{{% elif {KNOWN_COURSE} %}}Next up in {{{{ course_title }}}}"
            "{% else %}Your next step is one click away{% endif %}"
        ),
        preheader=_if(
            f"minutes_remaining and {KNOWN_COURSE}",
            "About {{ minutes_remaining }} min to finish {{ course_title }}.",
            "One module at a time.",
        ),
        body=(
            "Hi {{ first_name }},\n\n"
            + _if(
                KNOWN_NEXT_MODULE,
                "Your next step"
                + _if(KNOWN_COURSE, " in {{ course_title }}")
                + " is {{ next_module }}.",
                "Your next step"
                + _if(KNOWN_COURSE, " in {{ course_title }}")
                + " is one click away.",
            )
            + _if(
                "minutes_remaining",
                " You have about {{ minutes_remaining }} minute{{ minutes_remaining|pluralize }} "
                "left to finish the whole course"
                + _if("minutes_remaining <= 45", ", less than a lunch break")
                + ".",
            )
            + "\n\nDo one module today and the rest gets easier."
        ),
        cta_label="Start the next module",
        cta_target=CtaTarget.NEXT_MODULE,
    ),
    BlueprintStep(
        name="Manager nudge",
        delay_days=7,
        compressed_delay_days=2,
        audience=Audience.BOTH,
        subject=_if(
            KNOWN_COURSE,
            "A quick check-in about {{ course_title }}",
            "A quick check-in about your learning",
        ),
        preheader="Aim for one short session by {{ finish_by }}.",
        body=(
            "Hi {{ first_name }},\n\n"
            + _if("manager_first_name", "We've let {{ manager_first_name }} know ", "")
            + _if(
                "percent_complete",
                _if("manager_first_name", "you're", "You're")
                + " partway through {{ course_title }}.",
                _if(
                    KNOWN_COURSE,
                    "{{ course_title }} is still waiting for you.",
                    _if("manager_first_name", "your", "Your") + " learning is waiting for you.",
                ),
            )
            + _if(
                KNOWN_COURSE,
                " One short session this week keeps it from slipping"
                + _if(KNOWN_NEXT_MODULE, ": start at {{ next_module }} and aim", "; aim")
                + " to finish by {{ finish_by }}.",
                " One short session by {{ finish_by }} keeps you on track.",
            )
        ),
        cta_label="Resume the course",
        manager_subject=_if(
            KNOWN_COURSE,
            "{{ full_name }} paused {{ course_title }}: a 20-second nudge",
            "A 20-second nudge for {{ full_name }}",
        ),
        manager_body=(
            MANAGER_GREETING
            + "\n\n"
            + _if(
                KNOWN_COURSE,
                "{{ full_name }} paused {{ course_title }}"
                + _if("percent_complete", _if(KNOWN_LAST_MODULE, " at {{ last_module }}"))
                + _if(
                    "percent_complete or minutes_remaining",
                    " ("
                    + _if("percent_complete", "{{ percent_complete }}% done")
                    + _if("percent_complete and minutes_remaining", ", ")
                    + _if("minutes_remaining", "about {{ minutes_remaining }} minutes left")
                    + ")",
                )
                + ".",
                "{{ full_name }} hasn't been back to their learning lately.",
            )
            + " A word from you is the nudge that works best. The button opens an email to "
            + LEARNER_NAME
            + " with the line below; send it as is or make it your own."
        ),
        # The manager's line, as the seed article puts it; 300 characters at most.
        manager_script=(
            "Hi {{ first_name }}, I noticed you paused "
            + _if(
                KNOWN_COURSE,
                "{{ course_title }}"
                + _if(KNOWN_LAST_MODULE, " at {{ last_module }}")
                + ". Can you finish it by {{ finish_by }}?",
                "your learning. Could you fit in a session by {{ finish_by }}?",
            )
        ),
    ),
    BlueprintStep(
        name="Micro-incentive",
        delay_days=10,
        compressed_delay_days=4,
        audience=Audience.LEARNER,
        subject=_if(
            KNOWN_NEXT_MODULE,
            "Finish {{ next_module }} and earn your {{ incentive_title }}",
            "One more module earns your {{ incentive_title }}",
        ),
        preheader="A small badge for getting back on track.",
        body=(
            "Hi {{ first_name }},\n\n"
            + _if(
                KNOWN_NEXT_MODULE,
                "Complete {{ next_module }}",
                "Complete one more module" + _if(KNOWN_COURSE, " of {{ course_title }}"),
            )
            + " and you'll earn the {{ incentive_title }}: "
            "{{ incentive_description }}. Your team will see it on your profile."
            "{% if incentive_expires_on %}\n\nThe badge is yours if you finish by "
            "{{ incentive_expires_on }}.{% endif %}"
        ),
        cta_label="Earn your badge",
        incentive=BADGE_TITLE,
    ),
    BlueprintStep(
        name="Cohort early access",
        delay_days=14,
        compressed_delay_days=5,
        audience=Audience.LEARNER,
        subject=_if(KNOWN_FIRST_NAME, "{{ first_name }}, a", "A")
        + " seat for you in the next cohort",
        preheader=_if(
            KNOWN_COURSE,
            "Finish {{ course_title }} and join before registration opens.",
            "Join before registration opens.",
        ),
        body=(
            "Hi {{ first_name }},\n\n"
            + _if(
                KNOWN_COURSE,
                "Learners who finish {{ course_title }} get",
                "Learners who get back on track get",
            )
            + " early access to {{ incentive_value|default:'our next cohort course' }}: "
            "{{ incentive_description }}."
            + _if(
                "percent_complete",
                "\n\nYou're {{ percent_complete }}% of the way there"
                + _if(
                    "incentive_expires_on",
                    ", and the offer is open until {{ incentive_expires_on }}",
                )
                + ".",
                _if(
                    "incentive_expires_on",
                    "\n\nThe offer is open until {{ incentive_expires_on }}.",
                ),
            )
        ),
        cta_label="Finish and claim your seat",
        incentive=EARLY_ACCESS_TITLE,
    ),
    BlueprintStep(
        name="Final appeal",
        delay_days=21,
        compressed_delay_days=7,
        audience=Audience.LEARNER,
        subject=_if(
            KNOWN_COURSE,
            "Last reminder: {{ course_title }} is waiting",
            "Last reminder: your learning is waiting",
        ),
        preheader=_if("percent_complete", "Your progress is still saved.", "It takes one click."),
        body=(
            "Hi {{ first_name }},\n\n"
            + _if(
                KNOWN_COURSE,
                "This is our last reminder about {{ course_title }}.",
                "This is our last reminder.",
            )
            + _if(
                "percent_complete",
                " Your progress is saved"
                + _if(KNOWN_NEXT_MODULE, " at {{ next_module }}")
                + _if("minutes_remaining", ", with about {{ minutes_remaining }} minutes to go")
                + ".",
                _if(KNOWN_NEXT_MODULE, " It starts with {{ next_module }}."),
            )
            + "\n\nAfter this we'll stop these reminders"
            "{% if manager_first_name %} and leave it with {{ manager_first_name }}{% endif %}."
        ),
        cta_label="Finish the course",
    ),
)

WELCOME_BACK_SUBJECT = "Welcome back" + _if(KNOWN_FIRST_NAME, ", {{ first_name }}") + "!"
WELCOME_BACK_BODY = (
    "Hi {{ first_name }},\n\n"
    + _if(KNOWN_COURSE, "Good to see you back in {{ course_title }}.", "Good to see you back.")
    + _if(
        KNOWN_NEXT_MODULE,
        " Keep the momentum: {{ next_module }} is next.",
        " Keep the momentum going.",
    )
    + _if("incentive_title", " Your {{ incentive_title }} is on your profile.")
)

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
            "description": "a badge on your learning profile for getting back on track",
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
    variants: list[Variant] = []
    for position, spec in enumerate(STEPS, start=1):
        day = spec.compressed_delay_days if compressed else spec.delay_days
        step = Step.objects.create(
            campaign=campaign,
            position=position,
            name=spec.name,
            delay_days=day,
            audience=spec.audience,
            subject=spec.subject,
            preheader=spec.preheader,
            body=spec.body,
            cta_label=spec.cta_label,
            cta_target=spec.cta_target,
            incentive=incentives[spec.incentive] if spec.incentive else None,
            manager_subject=spec.manager_subject,
            manager_body=spec.manager_body,
            manager_script=spec.manager_script,
        )
        if spec.variant_b_subject:
            # A keeps the step's copy; B changes only the subject, so the test measures it.
            variants.append(Variant(step=step, label="A", weight=50))
            variants.append(
                Variant(step=step, label="B", weight=50, subject=spec.variant_b_subject)
            )
    Variant.objects.bulk_create(variants)
    return campaign


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
