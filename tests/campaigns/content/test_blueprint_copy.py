"""Every blueprint message reads naturally whatever data the learner is missing.

Each step (learner and manager copy) and the welcome-back message is rendered, as the admin's
preview and the delivery render it, for learners with no first name, no course progress, no
last or next module, 0% done, unknown minutes left, and a manager without a name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from django.test import override_settings

from campaigns.building import blueprint
from campaigns.content import emails, templating
from campaigns.models import Audience, Campaign, Incentive, Step
from learners.models import Learner
from tests.factories import (
    NOW,
    CourseProgressFactory,
    LearnerFactory,
    ManagerFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

# What no email may say. Stand-ins the renderer puts in place of missing data must never read
# as a name, and nothing may be claimed that is not known.
BANNED = [
    (r"\b0 minutes?\b", "zero minutes"),
    (r"\babout 0\b", "about 0"),
    (r"(?<![\d.])0% (done|through|of)", "0% done"),
    (r"\bHi ,", "empty greeting"),
    (r"\bHello ,", "empty greeting"),
    (r"\bthere (paused|hasn't|is|has)\b", "'there' as a name"),
    (r"\bthere, (we|your|a)\b", "'there' as a name"),
    (r"Welcome back, there", "'there' as a name"),
    (r"\bfor there\b|\bto there\b", "'there' as a name"),
    (r"\byour course\b", "'your course' as a course"),
    (r"\bthe next module\b", "'the next module' as a module"),
    (r"\bthe last module\b", "'the last module' as a module"),
    (r"\{\{|\{%|%\}|\}\}", "template syntax"),
    (r" [,.;:]", "space before punctuation"),
    (r"[^\S\n]{2,}", "double space"),
    (r"[,;:]\.", "stray punctuation"),
]


@dataclass(frozen=True)
class Gap:
    first_name: bool = True
    progress: bool = True
    last_module: bool = True
    next_module: bool = True
    percent: bool = True
    minutes: bool = True
    manager_name: bool = True

    def label(self) -> str:
        missing = [name for name, present in vars(self).items() if not present]
        return "no " + ", no ".join(missing) if missing else "complete"


# Every combination of what a learner may lack, and a manager's missing name.
MATRIX = [
    Gap(*flags)
    for flags in itertools.product([True, False], repeat=7)
    # Without progress there is no module, percent or minutes to lack on top.
    if flags[1] or all(flags[2:6])
]


def make_learner(gap: Gap) -> Learner:
    manager = ManagerFactory.create(name="Alex Chen" if gap.manager_name else "")
    learner = LearnerFactory.create(
        first_name="Sam" if gap.first_name else "", last_name="Rivera", manager=manager
    )
    if gap.progress:
        CourseProgressFactory.create(
            learner=learner,
            course__title="Data Protection Essentials",
            percent_complete=40 if gap.percent else 0,
            last_module=("Module 2: Handling data" if gap.last_module and gap.percent else ""),
            next_module="Module 3: Breach response" if gap.next_module else "",
            minutes_remaining=15 if gap.minutes else None,
        )
    return learner


@pytest.fixture
def campaign() -> Campaign:
    return blueprint.create_blueprint_campaign(
        name="Copy check",
        segment=SegmentFactory.create(),
        now=NOW,
        postal_address="Example Corp, 1 Learning Way, Berlin",
    )


def problems_in(text: str) -> list[str]:
    return [label for pattern, label in BANNED if re.search(pattern, text)]


def rendered_messages(campaign: Campaign, learner: Learner) -> list[tuple[str, str]]:
    """(what, text) for every message the blueprint sends this learner or their manager."""
    messages = []
    for step in Step.objects.filter(campaign=campaign).order_by("position"):
        audiences = [Audience.LEARNER]
        if step.audience == Audience.BOTH:
            audiences.append(Audience.MANAGER)
        variants = [None, *step.variants.all()]
        for audience, variant in itertools.product(audiences, variants):
            if audience == Audience.MANAGER and variant is not None:
                continue
            email = emails.render_preview(
                step=step, variant=variant, audience=audience, learner=learner, now=NOW
            )
            what = f"{step.name} / {audience}" + (f" / variant {variant.label}" if variant else "")
            messages += [
                (f"{what} / subject", email.subject),
                (f"{what} / preheader", email.preheader),
                (f"{what} / body", _body_of(email.text)),
            ]
            if audience == Audience.MANAGER:
                content = emails.step_content(step, None, audience=audience)
                messages += _manager_extras(what, content, learner)
    messages += _welcome_back(campaign, learner)
    messages += _handoff(learner)
    return messages


def _manager_extras(what: str, content: emails.Content, learner: Learner) -> list[tuple[str, str]]:
    """The manager's button, ready-to-send line and the subject of the email it opens."""
    context = _context(learner)
    progress = learner.progress.select_related("course").first()
    mailto = emails.destination(
        content=content,
        context=context,
        learner=learner,
        course=progress.course if progress else None,
        progress=progress,
        survey_link="",
    )
    subject = unquote(mailto.split("?subject=", 1)[1].split("&", 1)[0])
    return [
        (f"{what} / button", templating.render_subject(content.cta_label, context)),
        (f"{what} / script", templating.render_text(content.manager_script, context)),
        (f"{what} / note subject", subject),
    ]


def _handoff(learner: Learner) -> list[tuple[str, str]]:
    """The note a manager gets when the learner is sunset, and its ready-to-send line."""
    content = emails.handoff_content()
    context = _context(learner)
    return [
        ("Hand-off / subject", templating.render_subject(content.subject, context)),
        ("Hand-off / body", templating.render_text(content.body, context)),
        ("Hand-off / button", templating.render_subject(content.cta_label, context)),
        ("Hand-off / script", templating.render_text(content.manager_script, context)),
    ]


def _context(learner: Learner, incentive: Incentive | None = None) -> dict[str, str | int]:
    progress = learner.progress.select_related("course").first()
    return emails.template_context(
        learner=learner,
        manager=learner.manager,
        course=progress.course if progress else None,
        progress=progress,
        campaign=Campaign(name="Copy check"),
        incentive=incentive,
        now=NOW,
    )


def _welcome_back(campaign: Campaign, learner: Learner) -> list[tuple[str, str]]:
    content = emails.welcome_back_content(campaign)
    context = _context(learner, content.incentive)
    return [
        ("Welcome back / subject", templating.render_subject(content.subject, context)),
        ("Welcome back / body", templating.render_text(content.body, context)),
    ]


def _body_of(text: str) -> str:
    # The layout's button line and footer (unsubscribe, address) are not the copy under test.
    copy = text.split("\n\n--", 1)[0]
    return "\n".join(line for line in copy.splitlines() if "://" not in line)


@pytest.mark.parametrize("gap", MATRIX, ids=Gap.label)
def test_every_blueprint_message_reads_naturally_for_incomplete_data(campaign, gap):
    learner = make_learner(gap)

    found = [
        f"{what}: {problems}\n    {text!r}"
        for what, text in rendered_messages(campaign, learner)
        if (problems := problems_in(text))
    ]

    assert found == [], "\n".join(found)


def test_a_learner_with_complete_data_still_gets_every_detail(campaign):
    learner = make_learner(Gap())
    texts = dict(rendered_messages(campaign, learner))

    assert texts["We saved your progress / learner / subject"] == (
        "Sam, we saved your progress in Data Protection Essentials"
    )
    assert (
        "You finished Module 2: Handling data." in texts["We saved your progress / learner / body"]
    )
    assert texts["Next module / learner / subject"] == "Next up: Module 3: Breach response"
    assert (
        "about 15 minutes left to finish the whole course, less than a lunch break"
        in (texts["Next module / learner / body"])
    )
    assert texts["Manager nudge / manager / subject"] == (
        "Sam Rivera paused Data Protection Essentials: a 20-second nudge"
    )
    assert texts["Manager nudge / manager / body"].startswith(
        "Hi Alex,\n\nSam Rivera paused Data Protection Essentials at Module 2: Handling data "
        "(40% done, about 15 minutes left)."
    )
    assert texts["Welcome back / subject"] == "Welcome back, Sam!"
    assert texts["Welcome back / body"].endswith(
        "Keep the momentum: Module 3: Breach response is next."
    )
    assert texts["Manager nudge / manager / button"] == "Send Sam a note"
    assert texts["Manager nudge / manager / note subject"] == "Data Protection Essentials"
    assert texts["Hand-off / subject"] == "Sam hasn't returned to Data Protection Essentials"
    # Nothing the product cannot do is promised: no award is recorded on any profile.
    assert not any("profile" in text for text in texts.values())


def test_missing_data_gets_a_branch_that_claims_nothing(campaign):
    learner = make_learner(Gap(first_name=False, progress=False, manager_name=False))
    texts = dict(rendered_messages(campaign, learner))

    assert texts["We saved your progress / learner / subject"] == "Your learning is waiting"
    assert texts["Next module / learner / subject"] == "Your next step is one click away"
    assert texts["Manager nudge / manager / subject"] == "A 20-second nudge for Rivera"
    assert texts["Manager nudge / manager / body"].startswith(
        "Hello,\n\nRivera hasn't been back to their learning lately."
    )
    assert texts["Welcome back / subject"] == "Welcome back!"


def test_every_blueprint_template_is_one_staff_can_save(campaign):
    campaign.full_clean()
    for step in Step.objects.filter(campaign=campaign):
        # Every template fits its column (SQLite would not say; PostgreSQL refuses it).
        step.full_clean()
        for variant in step.variants.all():
            variant.full_clean()
        for source in (step.subject, step.preheader, step.manager_subject):
            templating.validate_template(source, field="subject")
        for source in (step.body, step.manager_body, step.manager_script):
            templating.validate_template(source, field="body")


def test_the_badge_is_promised_on_the_profile_only_where_awards_are_pushed(campaign):
    learner = make_learner(Gap())
    key = "Micro-incentive / learner / body"

    without = dict(rendered_messages(campaign, learner))[key]
    with override_settings(
        AWARD_WEBHOOK_URL="https://lms.example.com/awards", AWARD_WEBHOOK_SECRET="s"
    ):
        pushed = dict(rendered_messages(campaign, learner))[key]

    promise = " It shows on your LMS profile once you're back."
    assert "profile" not in without
    assert "earn the Comeback badge: a badge for getting back on track." + promise in pushed
    assert pushed.replace(promise, "") == without
