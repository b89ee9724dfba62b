"""seed_demo: a realistic population, created once."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command
from django.db.models import Count

from campaigns.models import Campaign, Step
from learners.demo import seed_demo_learners
from learners.models import ActivityEvent, Course, CourseProgress, Learner, Manager
from tests.learners.conftest import NOW


def test_the_population_is_realistic(db):
    summary = seed_demo_learners(count=400, now=NOW, seed=7)

    assert summary.learners == Learner.objects.count() == 400
    assert set(Course.objects.values_list("course_type", flat=True)) == {
        "compliance",
        "onboarding",
        "elective",
        "cohort",
    }
    assert Learner.objects.values("role").distinct().count() >= 5
    assert Learner.objects.values("time_zone").distinct().count() >= 5
    assert Learner.objects.filter(manager__isnull=True).count() == 0
    managers_who_learn = Manager.objects.filter(learner__isnull=False).count()
    assert 30 <= managers_who_learn <= 50  # about one learner in ten leads a team
    assert Manager.objects.filter(learner__isnull=True).exists()  # department heads
    oldest = NOW - dt.timedelta(days=180)
    assert not Learner.objects.filter(last_active_at__lt=oldest).exists()
    assert Learner.objects.filter(last_active_at__lt=NOW - dt.timedelta(days=90)).count() > 100
    assert Learner.objects.filter(last_active_at__gt=NOW - dt.timedelta(days=30)).count() > 30
    progress = CourseProgress.objects.filter(percent_complete__lt=100).first()
    assert progress is not None
    assert progress.resume_url.startswith("https://lms.example.com/courses/")
    assert progress.next_module and progress.minutes_remaining
    counts = Learner.objects.annotate(n=Count("progress")).values_list("n", flat=True)
    assert min(counts) >= 1
    assert Learner.objects.filter(completion_rate__isnull=False).count() == 400
    assert ActivityEvent.objects.count() == 400


def test_running_it_twice_creates_nothing_new(db):
    out = io.StringIO()
    call_command("seed_demo", "--learners", "150", stdout=out)
    counts = [m.objects.count() for m in (Learner, Manager, Course, CourseProgress, ActivityEvent)]

    call_command("seed_demo", "--learners", "150", stdout=out)

    assert [
        m.objects.count() for m in (Learner, Manager, Course, CourseProgress, ActivityEvent)
    ] == counts
    assert out.getvalue().splitlines()[-2:] == [
        "Demo learners: created 0 learners, 0 managers, 0 courses, 0 progress rows, "
        "0 activity events.",
        "Demo campaign: “Win back: inactive 30–59 days” (Active).",
    ]
    assert Campaign.objects.count() == 1
    assert Step.objects.count() == 6


def test_a_demo_campaign_someone_paused_stays_paused(db):
    out = io.StringIO()
    call_command("seed_demo", "--learners", "20", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "Demo campaign: “Win back: inactive 30–59 days” (Active)."
    )
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.ACTIVE
    campaign.status = Campaign.Status.PAUSED
    campaign.save()

    call_command("seed_demo", "--learners", "20", stdout=io.StringIO())

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED


def test_draft_leaves_the_demo_campaign_unlaunched(db):
    call_command("seed_demo", "--learners", "20", "--draft", stdout=io.StringIO())
    assert Campaign.objects.get().status == Campaign.Status.DRAFT


def test_a_larger_population_keeps_the_same_people(db):
    seed_demo_learners(count=50, now=NOW, seed=1)
    first = dict(Learner.objects.values_list("external_id", "email"))

    summary = seed_demo_learners(count=80, now=NOW, seed=1)

    assert summary.learners == 30
    assert {
        k: v for k, v in Learner.objects.values_list("external_id", "email") if k in first
    } == first
