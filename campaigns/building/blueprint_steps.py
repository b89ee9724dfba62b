"""The blueprint's six emails, as data: copy, timing (normal and compressed), audience,
CTA, incentive and the subject line its A/B test tries. :mod:`campaigns.building.blueprint`
turns them into a campaign."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.content.wording import (
    KNOWN_COURSE,
    KNOWN_FIRST_NAME,
    KNOWN_LAST_MODULE,
    KNOWN_NEXT_MODULE,
    LEARNER_NAME,
    MANAGER_GREETING,
)
from campaigns.content.wording import (
    if_known as _if,
)
from campaigns.models import Audience, CtaTarget

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
            "{{ incentive_description }}."
            "{% if incentive_on_profile %} It shows on your LMS profile once you're back."
            "{% endif %}"
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

# The high-risk version's text message on day 1: the first name and the link, nothing else
# about the learner (SMS steps allow no more). Learners without a number or SMS consent get
# the short email instead.
SMS_NUDGE = BlueprintStep(
    name="Day 1 text message",
    delay_days=1,
    compressed_delay_days=1,
    audience=Audience.LEARNER,
    subject=_if(KNOWN_FIRST_NAME, "{{ first_name }}, ", "")
    + "10 minutes today keeps {{ course_title }} on track",
    preheader="",
    body=(
        "Hi {{ first_name }},\n\n"
        + _if(
            KNOWN_COURSE,
            "Ten minutes in {{ course_title }} today keeps it from slipping.",
            "Ten minutes of your training today keeps it from slipping.",
        )
    ),
    cta_label="Resume the course",
)
SMS_NUDGE_TEXT = "Hi {{ first_name }}, 10 minutes today keeps your training on track:"
