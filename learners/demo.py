"""A realistic, reproducible learner population for the demo and the import benchmark.

Every learner is drawn from its own ``random.Random(f"{seed}:{index}")``, so learner 42 is the
same person whatever the population size, and a second run finds every row already there.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from learners import contactability
from learners.demo_data import (
    COURSES,
    FIRST_NAMES,
    LAST_NAMES,
    LMS_URL,
    MANAGER_EVERY,
    TEAMS,
    ZONES,
)
from learners.imports.learners import link_managers_to_learners
from learners.lookups import LOOKUP_CHUNK, chunked, ids_by_external_id
from learners.models import ActivityEvent, Course, CourseProgress, Learner, Manager
from learners.progress import refresh_completion_rates


@dataclass(frozen=True)
class DemoLearner:
    index: int
    external_id: str
    email: str
    first_name: str
    last_name: str
    role: str
    team: str
    time_zone: str
    locale: str
    inactive_days: float
    is_manager: bool


@dataclass
class DemoSummary:
    """How many rows a seeding run created (all zero on a second run)."""

    courses: int = 0
    managers: int = 0
    learners: int = 0
    progress: int = 0
    events: int = 0


def demo_learner(*, index: int, seed: int, prefix: str = "DEMO") -> DemoLearner:
    """Learner number ``index`` of the population drawn with ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    role = rng.choice(list(TEAMS))
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    zone, locale, _ = rng.choices(ZONES, weights=[weight for *_, weight in ZONES])[0]
    ascii_last = last.replace("ü", "ue").lower()
    # Other prefixes (the benchmark's) get their own domain, so they never clash with the demo.
    domain = "example.com" if prefix == "DEMO" else f"{prefix.lower()}.example.com"
    return DemoLearner(
        index=index,
        external_id=f"{prefix}-{index:06d}",
        email=f"{first.lower()}.{ascii_last}.{index}@{domain}",
        first_name=first,
        last_name=last,
        role=role,
        team=rng.choice(TEAMS[role]),
        time_zone=zone,
        locale=locale,
        # Uniform over 0–180 days, so every inactivity window of the segments has people.
        inactive_days=rng.uniform(0, 180),
        is_manager=index % MANAGER_EVERY == 1,
    )


def head_of(role: str) -> tuple[str, str]:
    """The (email, name) of a role's department head: a manager who is not a learner."""
    return f"head.of.{role.lower()}@example.com", f"Head of {role}"


def manager_of(
    learner: DemoLearner, managers: dict[tuple[str, str], DemoLearner]
) -> tuple[str, str]:
    """(email, name) of a learner's manager: the latest team lead before them in the same team,
    else their department head; team leads report to the head."""
    lead = managers.get((learner.role, learner.team))
    if learner.is_manager or lead is None:
        return head_of(learner.role)
    return lead.email, f"{lead.first_name} {lead.last_name}"


def demo_population(
    *, count: int, seed: int, prefix: str = "DEMO"
) -> list[tuple[DemoLearner, str, str]]:
    """``count`` learners with their manager's (email, name), in index order."""
    leads: dict[tuple[str, str], DemoLearner] = {}
    population = []
    for index in range(1, count + 1):
        learner = demo_learner(index=index, seed=seed, prefix=prefix)
        email, name = manager_of(learner, leads)
        if learner.is_manager:
            leads[(learner.role, learner.team)] = learner
        population.append((learner, email, name))
    return population


def write_learner_csv(*, path: Path, count: int, prefix: str, seed: int = 1) -> None:
    """Write ``count`` generated learners as an import file (the benchmark's input)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["external_id", "email", "first_name", "last_name", "role", "team",
             "manager_email", "manager_name", "time_zone", "locale", "last_active_at"]
        )  # fmt: skip
        base = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        for learner, manager_email, manager_name in demo_population(
            count=count, seed=seed, prefix=prefix
        ):
            active = base - dt.timedelta(days=learner.inactive_days)
            writer.writerow(
                [learner.external_id, learner.email, learner.first_name, learner.last_name,
                 learner.role, learner.team, manager_email, manager_name, learner.time_zone,
                 learner.locale, active.replace(microsecond=0).isoformat()]
            )  # fmt: skip


def _progress_for(
    learner: DemoLearner, learner_pk: int, courses: dict[str, Course], seed: int, now: dt.datetime
) -> list[CourseProgress]:
    rng = random.Random(f"{seed}:{learner.index}:progress")
    last_active = now - dt.timedelta(days=learner.inactive_days)
    rows = []
    for course in rng.sample(COURSES, k=rng.randint(1, 4)):
        done = rng.choice([0, 1, 1, 2, 2, 3, len(course.modules), len(course.modules)])
        done = min(done, len(course.modules))
        left = len(course.modules) - done
        rows.append(
            CourseProgress(
                learner_id=learner_pk,
                course=courses[course.external_id],
                percent_complete=round(100 * done / len(course.modules), 1),
                last_module=course.modules[done - 1] if done else "",
                next_module=course.modules[done] if left else "",
                resume_url=(
                    f"{LMS_URL}/courses/{course.slug}/modules/{done + 1}"
                    f"?learner={learner.external_id}"
                    if left
                    else f"{LMS_URL}/courses/{course.slug}"
                ),
                minutes_remaining=left * course.minutes_per_module,
                updated_at=last_active - dt.timedelta(days=rng.uniform(0, 20)),
            )
        )
    return rows


@transaction.atomic
def seed_demo_learners(*, count: int, now: dt.datetime, seed: int = 1) -> DemoSummary:
    """Create the demo population: courses, managers (some of them learners), ``count`` learners
    with progress and a last login spread over 0–180 days before ``now``.

    Idempotent: rows are keyed by LMS id / email / event id and only missing ones are created,
    so running it twice creates nothing the second time. A few queries per thousand learners.
    """
    summary = DemoSummary()
    summary.courses, courses = _ensure_courses()

    population = demo_population(count=count, seed=seed)
    existing = set(
        Learner.objects.filter(external_id__startswith="DEMO-").values_list(
            "external_id", flat=True
        )
    )
    fresh = [
        (spec, email, name) for spec, email, name in population if spec.external_id not in existing
    ]
    new_learners = [
        Learner(
            external_id=spec.external_id,
            email=spec.email,
            first_name=spec.first_name,
            last_name=spec.last_name,
            role=spec.role,
            team=spec.team,
            time_zone=spec.time_zone,
            locale=spec.locale,
            last_active_at=now - dt.timedelta(days=spec.inactive_days),
        )
        for spec, _, _ in fresh
    ]
    Learner.objects.bulk_create(new_learners, batch_size=1000)
    summary.learners = len(new_learners)

    summary.managers = _ensure_managers(population)
    learner_pks = _link_managers(population, fresh)
    _mark_some_uncontactable(fresh, learner_pks, now=now, seed=seed)

    progress_before = CourseProgress.objects.count()
    events_before = ActivityEvent.objects.count()
    progress: list[CourseProgress] = []
    events: list[ActivityEvent] = []
    for spec, _, _ in fresh:
        pk = learner_pks[spec.external_id]
        progress += _progress_for(spec, pk, courses, seed, now)
        events.append(
            ActivityEvent(
                external_id=f"{spec.external_id}-login",
                learner_id=pk,
                kind=ActivityEvent.Kind.LOGIN,
                occurred_at=now - dt.timedelta(days=spec.inactive_days),
            )
        )
    CourseProgress.objects.bulk_create(progress, batch_size=1000, ignore_conflicts=True)
    ActivityEvent.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
    summary.progress = CourseProgress.objects.count() - progress_before
    summary.events = ActivityEvent.objects.count() - events_before
    refresh_completion_rates(learner_ids=learner_pks.values())
    return summary


def _ensure_courses() -> tuple[int, dict[str, Course]]:
    """The demo courses, created where missing: how many were new, and all of them by LMS id."""
    existing_courses = set(Course.objects.values_list("external_id", flat=True))
    new_courses = [
        Course(
            external_id=c.external_id,
            title=c.title,
            course_type=c.course_type,
            url=f"{LMS_URL}/courses/{c.slug}",
        )
        for c in COURSES
        if c.external_id not in existing_courses
    ]
    Course.objects.bulk_create(new_courses)
    courses = {c.external_id: c for c in Course.objects.filter(external_id__startswith="DEMO-C")}
    return len(new_courses), courses


def _ensure_managers(population: list[tuple[DemoLearner, str, str]]) -> int:
    """The population's managers, created where missing (some are learners too)."""
    wanted = {email: name for _, email, name in population}
    known = set(_manager_pks(wanted))
    leads = {spec.email: spec.time_zone for spec, _, _ in population if spec.is_manager}
    roles = sorted(TEAMS)
    heads = {head_of(r)[0]: ZONES[i % len(ZONES)][0] for i, r in enumerate(roles)}
    new_managers = [
        Manager(email=e, name=n, time_zone=leads.get(e) or heads.get(e, ""))
        for e, n in wanted.items()
        if e not in known
    ]
    Manager.objects.bulk_create(new_managers, batch_size=1000)
    link_managers_to_learners()
    return len(new_managers)


def _link_managers(
    population: list[tuple[DemoLearner, str, str]], fresh: list[tuple[DemoLearner, str, str]]
) -> dict[str, int]:
    """Give each new learner their manager; returns the new learners' ids by LMS id."""
    managers = _manager_pks({email for _, email, _ in population})
    learner_pks = ids_by_external_id(Learner, (spec.external_id for spec, _, _ in fresh))
    Learner.objects.bulk_update(
        [
            Learner(pk=learner_pks[spec.external_id], manager_id=managers[email])
            for spec, email, _ in fresh
        ],
        ["manager"],
        batch_size=1000,
    )
    return learner_pks


def _manager_pks(emails: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunked(sorted(emails), LOOKUP_CHUNK):
        found.update(Manager.objects.filter(email__in=chunk).values_list("email", "pk"))
    return found


def _mark_some_uncontactable(
    fresh: list[tuple[DemoLearner, str, str]],
    learner_pks: dict[str, int],
    *,
    now: dt.datetime,
    seed: int,
) -> None:
    """About 3% unsubscribed and 1% suppressed, so the admin shows why some are never mailed."""
    unsubscribed, bounced = [], []
    for spec, _, _ in fresh:
        draw = random.Random(f"{seed}:{spec.index}:contact").random()
        if draw < 0.03:
            unsubscribed.append(learner_pks[spec.external_id])
        elif draw < 0.04:
            bounced.append(learner_pks[spec.external_id])
    contactability.unsubscribe_learners(learner_ids=unsubscribed, now=now - dt.timedelta(days=30))
    contactability.suppress_learners(
        learner_ids=bounced,
        reason=Learner.SuppressionReason.BOUNCE,
        now=now - dt.timedelta(days=60),
    )
