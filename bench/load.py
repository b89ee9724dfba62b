"""A million learners, their managers, courses and progress, loaded with COPY.

The shape is what the engine meets in service, so its plans are the real ones:

- Inactivity: half the learners were active in the last 29 days, ≈20.5% last 30–59 days ago
  (the blueprint segment, ≈200,000 at a million after the ≈2.5% who may not be emailed), the
  rest longer ago or never. Nobody sits within an hour of a window edge, so a pass a minute
  later finds no newcomers: the idle pass measures a pass with nothing to do.
- Time zones from Sydney to Los Angeles: at the benchmark's ``now`` (a Wednesday, 15:00 UTC)
  most learners are inside sending hours, ≈10% are in quiet hours (the engine postpones them).
- Every learner has one to three courses, the most recent one unfinished, with a deep link.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from . import db

# Learners per chunk written to COPY: big enough for few round trips, small enough to keep the
# generator's memory flat.
CHUNK = 20_000
# Ten reports each: 100,000 managers at a million learners, the weekly digest's scale.
LEARNERS_PER_MANAGER = 10
COURSES = 200
DAY = 86_400
HOUR = 3_600

# (zone, weight): weights add up to 100.
TIME_ZONES: tuple[tuple[str, int], ...] = (
    ("UTC", 10),
    ("Europe/London", 15),
    ("Europe/Berlin", 15),
    ("Europe/Madrid", 6),
    ("Europe/Warsaw", 5),
    ("America/New_York", 15),
    ("America/Chicago", 8),
    ("America/Denver", 3),
    ("America/Sao_Paulo", 5),
    ("Africa/Johannesburg", 4),
    ("Asia/Dubai", 4),
    # In quiet hours at 15:00 UTC: their day-0 email waits for their morning.
    ("Asia/Tokyo", 4),
    ("Australia/Sydney", 3),
    ("America/Los_Angeles", 3),
)
# Managers' zones for the weekly digest: the learners' zones where it is still the same
# weekday as in UTC at the benchmark's 15:00 UTC (Tokyo and Sydney are already on Thursday), so
# one digest pass finds every manager due (bench/engine.py).
MANAGER_TIME_ZONES: tuple[tuple[str, int], ...] = tuple(
    (zone, weight) for zone, weight in TIME_ZONES if zone not in ("Asia/Tokyo", "Australia/Sydney")
)
ROLES = ("Sales", "Support", "Engineering", "Nursing", "Retail", "Finance", "Operations")
FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas")
LAST_NAMES = ("Nakamura", "Okafor", "Schmidt", "García", "Kowalski", "Dubois", "Smith", "Rossi")
COURSE_TYPES: tuple[tuple[str, int], ...] = (
    ("compliance", 30),
    ("onboarding", 15),
    ("elective", 35),
    ("cohort", 10),
    ("other", 10),
)
TOPICS = ("Data protection", "Safe lifting", "Negotiation", "Python basics", "First aid")
MODULES = (
    "Why it matters",
    "The basics",
    "Core practice",
    "Common mistakes",
    "Case study",
    "Hands-on lab",
    "Review",
    "Final quiz",
    "Certificate",
)

LEARNER_COLUMNS = (
    "id, external_id, email, first_name, last_name, role, team, manager_id, time_zone, locale, "
    "last_active_at, completion_rate, unsubscribed_at, suppressed_at, suppression_reason, "
    "sunset_at, created_at, updated_at"
)
PROGRESS_COLUMNS = (
    "id, learner_id, course_id, percent_complete, last_module, next_module, resume_url, "
    "minutes_remaining, updated_at"
)
NULL = "\\N"


@dataclass(frozen=True)
class LoadResult:
    learners: int
    managers: int
    courses: int
    progress: int
    in_segment_window: int
    seconds: float
    analyze_seconds: float

    @property
    def rows(self) -> int:
        return self.learners + self.managers + self.courses + self.progress


def _weighted(pairs: tuple[tuple[str, int], ...]) -> list[str]:
    return [name for name, weight in pairs for _ in range(weight)]


def _ts(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


@dataclass
class _Chunk:
    learners: list[str]
    progress: list[str]
    in_window: int


def _generate(*, count: int, now: dt.datetime, seed: int, managers: int) -> Iterator[_Chunk]:
    rng = random.Random(seed)
    zones = _weighted(TIME_ZONES)
    created = _ts(now - dt.timedelta(days=400))
    progress_id = 0
    for start in range(1, count + 1, CHUNK):
        learners: list[str] = []
        progress: list[str] = []
        in_window = 0
        for i in range(start, min(start + CHUNK, count + 1)):
            u = rng.random()
            ago: float | None
            if u < 0.50:
                ago = rng.uniform(HOUR, 29 * DAY)
            elif u < 0.705:
                # Away from both window edges by an hour: see the module docstring.
                ago = rng.uniform(30 * DAY + HOUR, 60 * DAY - HOUR)
            elif u < 0.855:
                ago = rng.uniform(60 * DAY + HOUR, 90 * DAY)
            elif u < 0.975:
                ago = rng.uniform(90 * DAY, 400 * DAY)
            else:
                ago = None
            last_active = now - dt.timedelta(seconds=ago) if ago is not None else None
            unsubscribed = rng.random() < 0.015
            suppressed = rng.random() < 0.01
            if u >= 0.50 and u < 0.705 and not unsubscribed and not suppressed:
                in_window += 1
            manager = str(1 + (i - 1) // LEARNERS_PER_MANAGER) if rng.random() < 0.9 else NULL
            first = FIRST_NAMES[i % len(FIRST_NAMES)]
            last = LAST_NAMES[(i // 7) % len(LAST_NAMES)]
            learners.append(
                "\t".join(
                    (
                        str(i),
                        f"L{i:07d}",
                        f"learner{i}@example.com",
                        first,
                        last,
                        ROLES[i % len(ROLES)],
                        f"Team {(i - 1) // 250}",
                        manager,
                        zones[int(rng.random() * len(zones))],
                        "en",
                        _ts(last_active) if last_active else NULL,
                        f"{rng.random() * 100:.1f}",
                        _ts(now - dt.timedelta(days=100)) if unsubscribed else NULL,
                        _ts(now - dt.timedelta(days=50)) if suppressed else NULL,
                        "bounce" if suppressed else "",
                        NULL,
                        created,
                        created,
                    )
                )
            )
            base = int(rng.random() * COURSES)
            # A stride under COURSES/3 keeps up to three courses distinct (progress_unique).
            stride = 1 + int(rng.random() * 60)
            touched = last_active or (now - dt.timedelta(days=400))
            for j in range(1 + int(rng.random() * 3)):
                progress_id += 1
                course = (base + j * stride) % COURSES + 1
                if j == 0:
                    # The most recent course is the unfinished one the emails are about.
                    percent = 5 + int(rng.random() * 90)
                else:
                    percent = 100 if rng.random() < 0.4 else int(rng.random() * 95)
                module = min(1 + percent * len(MODULES) // 100, len(MODULES) - 1)
                progress.append(
                    "\t".join(
                        (
                            str(progress_id),
                            str(i),
                            str(course),
                            str(percent),
                            f"Module {module}: {MODULES[module - 1]}",
                            f"Module {module + 1}: {MODULES[module]}",
                            f"https://lms.example.com/courses/{course}/modules/{module + 1}"
                            f"?resume=L{i:07d}",
                            str(5 + (100 - percent) * 6 // 10),
                            _ts(touched - dt.timedelta(days=5 * j)),
                        )
                    )
                )
        yield _Chunk(learners=learners, progress=progress, in_window=in_window)


def _copy_lines(cur: psycopg.Cursor[tuple[object, ...]], statement: str, lines: list[str]) -> None:
    with cur.copy(statement.encode()) as copy:
        copy.write("\n".join(lines) + "\n")


def load(url: str, *, learners: int, now: dt.datetime, seed: int = 1) -> LoadResult:
    """Fill the (freshly migrated, empty) benchmark database and analyze it."""
    started = time.perf_counter()
    managers = (learners + LEARNERS_PER_MANAGER - 1) // LEARNERS_PER_MANAGER
    created = _ts(now - dt.timedelta(days=400))
    rng = random.Random(seed + 1)
    types = _weighted(COURSE_TYPES)
    progress_rows = 0
    in_window = 0
    # Two connections so learners and their progress stream side by side. Foreign-key triggers
    # are off while loading (the generator keeps the references right): checking 3M rows costs
    # more than the COPY itself and tells nothing about the engine.
    with db.connect(url, autocommit=False) as main, db.connect(url, autocommit=False) as side:
        for conn in (main, side):
            conn.execute("SET session_replication_role = replica")
        cur, side_cur = main.cursor(), side.cursor()
        _copy_lines(
            cur,
            "COPY learners_course (id, external_id, title, course_type, url) FROM STDIN",
            [
                f"{c}\tC{c:04d}\t{TOPICS[c % len(TOPICS)]} {c}\t"
                f"{types[int(rng.random() * len(types))]}\thttps://lms.example.com/courses/{c}"
                for c in range(1, COURSES + 1)
            ],
        )
        manager_zones = _weighted(MANAGER_TIME_ZONES)
        _copy_lines(
            cur,
            "COPY learners_manager (id, email, name, learner_id, nudges_opted_out_at, "
            "digests_opted_out_at, time_zone, created_at) FROM STDIN",
            [
                f"{m}\tmanager{m}@example.com\t{FIRST_NAMES[m % 10]} {LAST_NAMES[m % 8]}"
                f"\t{NULL}\t{NULL}\t{NULL}\t{manager_zones[m % len(manager_zones)]}\t{created}"
                for m in range(1, managers + 1)
            ],
        )
        for chunk in _generate(count=learners, now=now, seed=seed, managers=managers):
            _copy_lines(
                cur, f"COPY learners_learner ({LEARNER_COLUMNS}) FROM STDIN", chunk.learners
            )
            _copy_lines(
                side_cur,
                f"COPY learners_courseprogress ({PROGRESS_COLUMNS}) FROM STDIN",
                chunk.progress,
            )
            progress_rows += len(chunk.progress)
            in_window += chunk.in_window
        for table in ("learners_course", "learners_manager", "learners_learner"):
            _set_sequence(cur, table)
        _set_sequence(side_cur, "learners_courseprogress")
        main.commit()
        side.commit()
    loaded = time.perf_counter()
    db.vacuum_analyze(url)
    return LoadResult(
        learners=learners,
        managers=managers,
        courses=COURSES,
        progress=progress_rows,
        in_segment_window=in_window,
        seconds=loaded - started,
        analyze_seconds=time.perf_counter() - loaded,
    )


def _set_sequence(cur: psycopg.Cursor[tuple[object, ...]], table: str) -> None:
    # Rows were loaded with explicit ids; the identity must continue after them.
    cur.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT coalesce(max(id), 1) FROM {}))"
        ).format(sql.Identifier(table)),
        [table],
    )
