"""factory_boy factories for volume; tests name the few people that matter."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from campaigns.models import Campaign, Incentive, Segment, Step, Variant
from learners.models import ActivityEvent, Course, CourseProgress, Learner, Manager

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class ManagerFactory(factory.django.DjangoModelFactory[Manager]):
    class Meta:
        model = Manager

    email = factory.Sequence(lambda n: f"manager{n}@example.com")
    name = factory.Sequence(lambda n: f"Manager {n}")


class LearnerFactory(factory.django.DjangoModelFactory[Learner]):
    class Meta:
        model = Learner

    external_id = factory.Sequence(lambda n: f"L{n:06d}")
    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    first_name = factory.Sequence(lambda n: f"Learner{n}")
    last_name = "Example"
    role = "Sales"
    team = "EMEA"
    manager = factory.SubFactory(ManagerFactory)
    time_zone = "UTC"
    locale = "en"
    last_active_at = factory.LazyFunction(lambda: NOW - dt.timedelta(days=45))


class CourseFactory(factory.django.DjangoModelFactory[Course]):
    class Meta:
        model = Course

    external_id = factory.Sequence(lambda n: f"C{n:04d}")
    title = factory.Sequence(lambda n: f"Course {n}")
    course_type = Course.CourseType.COMPLIANCE
    url = factory.Sequence(lambda n: f"https://lms.example.com/courses/{n}")


class CourseProgressFactory(factory.django.DjangoModelFactory[CourseProgress]):
    class Meta:
        model = CourseProgress

    learner = factory.SubFactory(LearnerFactory)
    course = factory.SubFactory(CourseFactory)
    percent_complete = 40
    last_module = "Module 2: Handling personal data"
    next_module = "Module 3: Breach response"
    resume_url = factory.LazyAttribute(lambda o: f"{o.course.url}/resume/{o.learner.external_id}")
    minutes_remaining = 15
    updated_at = factory.LazyFunction(lambda: NOW - dt.timedelta(days=45))


class ActivityEventFactory(factory.django.DjangoModelFactory[ActivityEvent]):
    class Meta:
        model = ActivityEvent

    external_id = factory.Sequence(lambda n: f"E{n:08d}")
    learner = factory.SubFactory(LearnerFactory)
    kind = ActivityEvent.Kind.LOGIN
    occurred_at = factory.LazyFunction(timezone.now)


class SegmentFactory(factory.django.DjangoModelFactory[Segment]):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Inactive 30–59 days #{n}")
    min_inactive_days = 30
    max_inactive_days = 59


class IncentiveFactory(factory.django.DjangoModelFactory[Incentive]):
    class Meta:
        model = Incentive

    kind = Incentive.Kind.BADGE
    title = "Comeback badge"
    description = "A badge on your profile for getting back on track"


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Win back {n}")
    slug = factory.Sequence(lambda n: f"win-back-{n}")
    segment = factory.SubFactory(SegmentFactory)
    from_name = "The Learning Team"
    from_email = "learning@example.com"
    postal_address = "Example Corp, 1 Learning Way, 10115 Berlin, Germany"


class StepFactory(factory.django.DjangoModelFactory[Step]):
    class Meta:
        model = Step

    campaign = factory.SubFactory(CampaignFactory)
    position = factory.Sequence(lambda n: n + 1)
    delay_days = 0
    subject = "{{ first_name }}, we saved your progress"
    body = "Hi {{ first_name }},\n\nYou stopped at {{ last_module }}. Pick up where you left off."
    cta_label = "Resume where you stopped"


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    step = factory.SubFactory(StepFactory)
    label = factory.Sequence(lambda n: "AB"[n % 2])
    weight = 50


def staff_user(username: str, *groups: str) -> User:
    """A staff member in the roles the ``0002_roles`` migration creates, e.g. "Viewers"."""
    user = User.objects.create_user(
        username, f"{username}@example.com", "pw-for-tests", is_staff=True
    )
    user.groups.set(Group.objects.filter(name__in=groups))
    if len(groups) != user.groups.count():
        raise ValueError(f"unknown role in {groups}")
    return user
