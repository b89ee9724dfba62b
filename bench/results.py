"""The results benchmark: ``python -m bench.results [--enrollments 200000] [--campaigns 50]``.

On a PostgreSQL database of its own (``bench_results``; never ``test``) it builds, with
set-based SQL:

- one campaign with ``--enrollments`` learners (10% held out), enrolled over the last 60 days
  so half the 30-day goal windows are still open; six steps, two of them with A/B variants;
  about five sends per treated learner (≈1,000,000) with delivered / opened / clicked /
  bounced / unsubscribed timestamps; ≈1,000,000 activity events of those learners around
  their enrollment;
- ``--campaigns`` − 1 smaller campaigns of ``--small`` enrollments each, with their events,
  for the programme overview;

then times :func:`campaign_results` for the big campaign and :func:`programme_overview` for
all of them (best of ``--repeat`` runs, after one warm-up), counts their SQL statements, and
prints the table, also written to ``var/bench/results-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import db
from .report import Report, seconds

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_results"
CAMPAIGN_SECONDS = 1.0
OVERVIEW_SECONDS = 2.0
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=200_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--small", type=int, default=4_000, help="enrollments per other campaign")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse a loaded database")
    return parser.parse_args(argv)


def prepare(url: str, *, keep: bool) -> bool:
    """A fresh, migrated database (or the loaded one with ``--keep``); True when loaded."""
    if keep and db.exists(url):
        return True
    db.drop(url)
    db.create(url)
    return False


def _exec(sql: str, params: list[Any] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def build_campaigns(args: argparse.Namespace) -> list[int]:
    """The campaigns, their steps and variants, by the ORM (a few rows)."""
    from campaigns.models import Campaign, Segment, Step, Variant

    segment = Segment.objects.create(name="Inactive 30–59 days", min_inactive_days=30)
    ids = []
    for index in range(args.campaigns):
        campaign = Campaign.objects.create(
            name=f"Campaign {index}",
            slug=f"campaign-{index}",
            segment=segment,
            status=Campaign.Status.ACTIVE,
            goal_window_days=30,
            holdout_percent=10,
            postal_address="Example Corp",
        )
        for position in range(1, 7):
            step = Step.objects.create(
                campaign=campaign,
                position=position,
                name=f"Day {position * 3}",
                delay_days=(position - 1) * 3,
                subject="Hello",
                body="Hi",
                cta_label="Resume",
            )
            if position in (1, 3):
                Variant.objects.bulk_create(
                    [Variant(step=step, label="A"), Variant(step=step, label="B")]
                )
        ids.append(campaign.pk)
    return ids


LEARNERS_SQL = """
    INSERT INTO learners_learner (external_id, email, first_name, last_name, role, team,
               time_zone, locale, last_active_at, completion_rate, suppression_reason,
               created_at, updated_at)
           SELECT 'L' || g, 'l' || g || '@example.com', 'Ada', 'Example', 'Sales', 'EMEA',
               'UTC', 'en', %s - interval '45 days', 50, '', %s, %s
           FROM generate_series(1, %s) g"""

# Learner g is in the big campaign for g <= enrollments, else in small campaign k.
ENROLLMENTS_SQL = """
    INSERT INTO campaigns_enrollment (campaign_id, learner_id, enrolled_at, is_holdout,
               status, exit_reason)
           SELECT CASE WHEN l.id <= %s THEN %s
                       ELSE (%s::int[])[1 + (l.id - %s - 1) / %s] END,
                  l.id, %s - (l.id %% 60) * interval '1 day' - (l.id %% 24) * interval '1 hour',
                  l.id %% 10 = 0,
                  CASE WHEN l.id %% 7 = 0 THEN 'reactivated' WHEN l.id %% 11 = 0 THEN 'sunset'
                       ELSE 'active' END, ''
           FROM learners_learner l"""

# About five sends per treated learner of the big campaign, one per step already due.
SENDS_SQL = """
    INSERT INTO campaigns_send (enrollment_id, campaign_id, step_id, variant_id, kind,
               audience, learner_id, to_email, status, due_at, postponed_reason, skip_reason,
               attempts, last_error, created_at, sent_at, subject, destination_url, message_id,
               esp_message_id, delivered_at, opened_at, clicked_at, click_count, bounced_at,
               unsubscribed_at)
           SELECT e.id, e.campaign_id, s.id,
                  (SELECT v.id FROM campaigns_variant v WHERE v.step_id = s.id
                   ORDER BY v.label OFFSET (e.id %% 2) LIMIT 1),
                  'step', 'learner', e.learner_id, '', 'sent', t.at, '', '', 1, '', t.at, t.at,
                  'Hello', '', '', '', CASE WHEN h %% 20 <> 0 THEN t.at + interval '1 minute' END,
                  CASE WHEN h %% 10 < 3 THEN t.at + interval '2 hours' END,
                  CASE WHEN h %% 100 < 8 + (e.id %% 2) * 3 THEN t.at + interval '3 hours' END,
                  0, CASE WHEN h %% 100 = 99 THEN t.at + interval '1 minute' END,
                  CASE WHEN h %% 200 = 7 THEN t.at + interval '1 day' END
           FROM campaigns_enrollment e
           JOIN campaigns_step s ON s.campaign_id = e.campaign_id
           CROSS JOIN LATERAL (SELECT e.enrolled_at + s.delay_days * interval '1 day' AS at,
                                      (e.id * 7 + s.position * 13) AS h) t
           WHERE e.campaign_id = %s AND NOT e.is_holdout AND (e.id * 7 + s.position) %% 13 <> 0
             AND t.at <= %s"""

# Five events per learner of the big campaign, two per learner elsewhere, spread from
# 120 days before enrolling (held out: 150) to 30 days after: about half the treated and
# a third of the held-out learners come back within the window.
EVENTS_SQL = """
    INSERT INTO learners_activityevent (external_id, learner_id, kind, occurred_at,
               received_at)
           SELECT 'E' || e.learner_id || '-' || k, e.learner_id,
                  (ARRAY['login', 'module_started', 'module_completed', 'other'])
                      [1 + (e.id + k) %% 4],
                  e.enrolled_at + x.offset_days * interval '1 day' - interval '1 hour', %s
           FROM campaigns_enrollment e
           CROSS JOIN generate_series(1, CASE WHEN e.campaign_id = %s THEN 5 ELSE 2 END) k
           CROSS JOIN LATERAL (
               SELECT CASE WHEN e.is_holdout THEN (e.id * 31 + k * 17) %% 180 - 150
                           ELSE (e.id * 31 + k * 17) %% 150 - 120 END AS offset_days) x
           WHERE e.enrolled_at + x.offset_days * interval '1 day' <= %s"""


def load(args: argparse.Namespace, campaign_ids: list[int]) -> dict[str, float]:
    """Learners, enrollments, sends and events, one INSERT … SELECT each; seconds of each."""
    big, small = campaign_ids[0], campaign_ids[1:]
    total = args.enrollments + args.small * len(small)
    now = NOW
    statements: list[tuple[str, str, list[Any]]] = [
        ("learners", LEARNERS_SQL, [now, now, now, total]),
        (
            "enrollments",
            ENROLLMENTS_SQL,
            [args.enrollments, big, small or [big], args.enrollments, args.small, now],
        ),
        ("sends", SENDS_SQL, [big, now]),
        ("events", EVENTS_SQL, [now, big, now]),
    ]
    timings: dict[str, float] = {}
    for name, sql, params in statements:
        started = time.perf_counter()
        _exec(sql, params)
        timings[name] = time.perf_counter() - started
    return timings


def count(table: str, where: str = "") -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} {where}")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def measure(call: Callable[[], object], repeat: int) -> tuple[list[float], int]:
    """Seconds of each run after a warm-up, and the SQL statements of one run."""
    from django.db import connection, reset_queries

    call()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    connection.force_debug_cursor = True
    reset_queries()
    call()
    statements = len(connection.queries)
    connection.force_debug_cursor = False
    return runs, statements


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("BENCH_RESULTS_DATABASE_URL", DEFAULT_URL)
    loaded = prepare(url, keep=args.keep)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reengagement.settings")
    # As in production (no query log kept), so the settings want production values.
    for name, value in {
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "PUBLIC_BASE_URL": "https://bench.example.com",
        "ALLOWED_HOSTS": "bench.example.com",
    }.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()
    from django.core.management import call_command

    from campaigns.engine.outcomes import record_outcomes
    from campaigns.models import Campaign
    from campaigns.reports.results import campaign_results, programme_overview

    timings: dict[str, float] = {}
    if not loaded:
        call_command("migrate", verbosity=0)
        ids = build_campaigns(args)
        timings = load(args, ids)
        db.vacuum_analyze(url)
    # As the pass does after it enrolls: the outcomes recorded (all of them, on a new load),
    # then a recording with nothing new, as most passes find.
    started = time.perf_counter()
    first_recording = record_outcomes(now=NOW)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    record_outcomes(now=NOW)
    idle_recording = time.perf_counter() - started
    big = Campaign.objects.get(slug="campaign-0")
    results = campaign_results(campaign=big, now=NOW)
    one, one_sql = measure(lambda: campaign_results(campaign=big, now=NOW), args.repeat)
    every, every_sql = measure(lambda: programme_overview(now=NOW), args.repeat)

    report = Report(title="Results benchmark")
    load1, load5, load15 = os.getloadavg()
    report.machine = [
        ("python", platform.python_version()),
        ("postgresql", db.server_version(url)),
        ("cpus", str(os.cpu_count())),
        ("load average at the end (1/5/15 min)", f"{load1:.2f} / {load5:.2f} / {load15:.2f}"),
    ]
    report.add(
        "enrollments in the campaign", f"{results.treated.enrolled + results.holdout.enrolled:,}"
    )
    report.add(
        "sends in the campaign", f"{count('campaigns_send', f'WHERE campaign_id = {big.pk}'):,}"
    )
    report.add("activity events (all learners)", f"{count('learners_activityevent'):,}")
    report.add("campaigns in the overview", f"{Campaign.objects.count()}")
    report.add(
        "campaign results (best / median)",
        f"{seconds(min(one))} / {seconds(statistics.median(one))}, {one_sql} SQL statements",
        f"≤ {CAMPAIGN_SECONDS:.0f} s",
        min(one) <= CAMPAIGN_SECONDS,
    )
    report.add(
        "programme overview (best / median)",
        f"{seconds(min(every))} / {seconds(statistics.median(every))}, {every_sql} SQL statements",
        f"≤ {OVERVIEW_SECONDS:.0f} s",
        min(every) <= OVERVIEW_SECONDS,
    )
    report.add(
        "outcomes recording after a pass with nothing new (50 campaigns)",
        seconds(idle_recording),
    )
    report.notes = [
        f"loading: {', '.join(f'{k} {seconds(v)}' for k, v in timings.items())}"
        if timings
        else "loading: reused the loaded database (--keep)",
        f"outcomes recorded after loading, as the first pass would: "
        f"{first_recording.enrollments:,} in {seconds(first_seconds)}",
        f"reactivation: treated {results.reactivation.treated.successes:,}/"
        f"{results.reactivation.treated.n:,}, holdout {results.reactivation.holdout.successes:,}/"
        f"{results.reactivation.holdout.n:,}; {results.treated.open + results.holdout.open:,} "
        "with the window still open",
    ]
    text = report.markdown()
    print(text)
    out = BASE_DIR / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.md").write_text(text)
    return 0 if all(r.ok is not False for r in report.rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
