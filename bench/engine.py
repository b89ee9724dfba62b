"""The engine benchmark: ``python -m bench.engine [--learners 1000000] [--deliver-sample N]
[--naive-sample N] [--rounds 3]``.

On a database of its own (``bench``; never ``test``) it loads a million learners with COPY,
launches the blueprint campaign on the 30–59-days segment and reports, in one table:

- the first pass (≈200,000 enrolled, day-0 sends created): time and peak memory;
- a pass a minute later, with nothing due: time and peak memory;
- the weekly digest: a pass with every manager's digest due (100,000 managers at a million
  learners), then a pass a minute later that finds them all made: time and peak memory;
- delivery: 2 Celery worker processes sending the day-0 sends to a local SMTP sink, emails/s;
- the bare loop: 2 Celery worker processes sending as many pre-rendered copies of one real
  email, with no database work, to the same sink: the machine's limit. The two take turns
  in ``--rounds`` rounds (3), so a drift in the machine's speed weighs on both alike;
- a naive per-learner Django loop on the same data, as a ratio.

Each phase runs in a fresh process (its peak memory is its own). Every child is in its own
process group, every wait is bounded, and everything started is stopped on the way out. The
table is printed and written to ``var/bench/engine-<timestamp>.md``; logs, JSON results and
plans stay in ``var/bench/engine-<timestamp>/``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis

from . import bare_loop, db, load
from .procs import PYTHON, PhaseFailed, Proc, Processes, wait_for_log
from .report import Report, rate, seconds
from .smtp_sink import SinkStatus, read_status

BASE_DIR = Path(__file__).resolve().parent.parent
BROKER_URL = "redis://127.0.0.1:6379/14"

# The targets.
FIRST_PASS_SECONDS = 15.0
IDLE_PASS_SECONDS = 1.0
DIGEST_PASS_SECONDS = 10.0
PEAK_MB = 300.0
DELIVERY_SHARE_OF_BARE = 0.75
NAIVE_RATIO = 50.0
REFERENCE_BARE_RATE = 790.0

# A worker that has not delivered anything new for this long is not going to.
STALL_SECONDS = 60.0
# The slowest delivery the waits allow for, before giving up with a partial figure.
SLOWEST_RATE = 50.0


def choose_now(real: dt.datetime) -> dt.datetime:
    """The latest Wednesday 15:00 UTC an hour or more before ``real``: a weekday everywhere
    from Los Angeles to Sydney, inside sending hours for most of the learners' zones
    (bench/load.py), and in the past, so a worker's clock never finds a send not yet due."""
    candidate = real.replace(hour=15, minute=0, second=0, microsecond=0)
    candidate -= dt.timedelta(days=(candidate.weekday() - 2) % 7)
    while candidate > real - dt.timedelta(hours=1):
        candidate -= dt.timedelta(days=7)
    return candidate


@dataclass
class Run:
    args: argparse.Namespace
    now: dt.datetime
    url: str
    run_dir: Path
    procs: Processes
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failed_after: dict[str, float] = field(default_factory=dict)
    sink: Proc | None = None
    sink_port: int = 0
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))

    @property
    def sink_file(self) -> Path:
        return self.run_dir / "sink.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            DATABASE_URL=self.url,
            # As in production: with DEBUG on, Django keeps every query in memory.
            DEBUG="false",
            # Signed links only have to verify within the run.
            SECRET_KEY=self.secret_key,
            # With DEBUG off the settings want a public https base and named hosts.
            PUBLIC_BASE_URL="https://bench.example.com",
            ALLOWED_HOSTS="bench.example.com",
            VAR_DIR=str(self.run_dir / "var"),
            CELERY_BROKER_URL=BROKER_URL,
            CELERY_TASK_ALWAYS_EAGER="false",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.sink_port or 9),
            EMAIL_USE_TLS="false",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(BASE_DIR),
        )
        env.update(extra)
        return env

    def phase(self, name: str, phase: str, *, timeout: float, **options: Any) -> dict[str, Any]:
        out = self.run_dir / f"{name}.json"
        argv = [
            PYTHON,
            "-m",
            "bench.phase",
            phase,
            "--out",
            str(out),
            "--now",
            self.now.isoformat(),
        ]
        for key, value in options.items():
            if value is True:
                argv.append(f"--{key}")
            elif value not in (None, False):
                argv += [f"--{key}", str(value)]
        env = self.env(DJANGO_SETTINGS_MODULE="reengagement.settings")
        self.procs.run(name, argv, env, timeout=timeout)
        result: dict[str, Any] = json.loads(out.read_text())
        self.results[name] = result
        return result

    def step(self, name: str, work: Callable[[], None]) -> bool:
        """Run one part; a failure is reported in the table instead of ending the run."""
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            work()
        except (PhaseFailed, OSError, ValueError, KeyError, RuntimeError) as exc:
            self.errors[name] = str(exc)
            self.failed_after[name] = time.monotonic() - started
            print(f"   failed: {exc}", flush=True)
            with contextlib.suppress(psycopg.Error):
                db.cancel_queries(self.url)
            return False
        print(f"   done in {time.monotonic() - started:.1f} s", flush=True)
        return True


def prepare_database(run: Run) -> None:
    args = run.args
    if args.reuse_db and db.exists(run.url):
        learners = db.scalar(run.url, "SELECT count(*) FROM learners_learner")
        if learners == args.learners:
            migrate(run)
            db.reset_campaigns(run.url)
            run.results["load"] = {"reused": True, "learners": learners}
            return
    db.drop(run.url)
    db.create(run.url)
    migrate(run)
    result = load.load(run.url, learners=args.learners, now=run.now, seed=args.seed)
    run.results["load"] = {
        "reused": False,
        "learners": result.learners,
        "rows": result.rows,
        "progress": result.progress,
        "managers": result.managers,
        "in_segment_window": result.in_segment_window,
        "seconds": result.seconds,
        "analyze_seconds": result.analyze_seconds,
    }


def migrate(run: Run) -> None:
    env = run.env(DJANGO_SETTINGS_MODULE="reengagement.settings")
    run.procs.run(
        "migrate", [PYTHON, str(BASE_DIR / "manage.py"), "migrate", "--noinput"], env, timeout=600
    )


def start_sink(run: Run) -> None:
    run.sink_file.unlink(missing_ok=True)
    run.sink = run.procs.start(
        "smtp-sink", [PYTHON, "-m", "bench.smtp_sink", "--status", str(run.sink_file)], run.env()
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = read_status(run.sink_file)
        if status is not None:
            run.sink_port = status.port
            return
        if not run.sink.running():
            break
        time.sleep(0.1)
    raise PhaseFailed(f"the SMTP sink did not start:\n{run.sink.log_tail()}")


def sink_count(run: Run) -> int:
    status = read_status(run.sink_file)
    return status.count if status else 0


@dataclass
class Throughput:
    messages: int
    target: int
    seconds: float
    complete: bool
    worker_peak_mb: float
    pool_peak_mb: float
    load_before: float
    note: str = ""

    rounds: tuple[float, ...] = ()

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def combine(cls, parts: list[Throughput]) -> Throughput:
        """The rounds of one measurement as one: all messages over all the time they took."""
        return cls(
            messages=sum(p.messages for p in parts),
            target=sum(p.target for p in parts),
            seconds=sum(p.seconds for p in parts),
            complete=all(p.complete for p in parts),
            worker_peak_mb=max(p.worker_peak_mb for p in parts),
            pool_peak_mb=max(p.pool_peak_mb for p in parts),
            load_before=max(p.load_before for p in parts),
            note="; ".join(p.note for p in parts if p.note),
            rounds=tuple(p.per_second for p in parts),
        )


def measure_workers(
    run: Run,
    *,
    name: str,
    app: str,
    env: dict[str, str],
    enqueue: Callable[[], float],
    target: int,
    settled: Callable[[], bool] = lambda: True,
) -> Throughput:
    """Start 2 worker processes, enqueue, and wait (bounded) until the sink has ``target``
    more messages. ``enqueue`` returns the wall-clock time its first task was sent; the
    workers are stopped once ``settled()`` (bounded too), so they can record what they sent."""
    redis.Redis.from_url(BROKER_URL).flushdb()
    worker = run.procs.start(
        name,
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "--concurrency=2",
            "--pool=prefork",
            "--loglevel=INFO",
            "-n",
            f"{name}@%h",
            # No chatter with other workers: the benchmark's workers are alone on their broker.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
    )
    try:
        wait_for_log(worker, " ready.", timeout=120)
        load_before = os.getloadavg()[0]
        base = sink_count(run)
        started = enqueue()
        timeout = (
            max(120.0, target / SLOWEST_RATE)
            if not run.args.deliver_timeout
            else float(run.args.deliver_timeout)
        )
        deadline = time.monotonic() + timeout
        main_peak = pool_peak = 0.0
        last_change, last_count = time.monotonic(), base
        status: SinkStatus | None = None
        note = ""
        while True:
            status = read_status(run.sink_file)
            count = status.count if status else base
            if count >= base + target:
                break
            if count != last_count:
                last_change, last_count = time.monotonic(), count
            if time.monotonic() - last_change > STALL_SECONDS:
                note = f"stalled: nothing delivered for {STALL_SECONDS:.0f} s"
                break
            if time.monotonic() > deadline:
                note = f"timed out after {timeout:.0f} s"
                break
            if not worker.running():
                note = "the worker exited"
                break
            main_rss, pool_rss = _worker_rss(worker.pid)
            main_peak, pool_peak = max(main_peak, main_rss), max(pool_peak, pool_rss)
            time.sleep(0.25)
        delivered = (status.count if status else base) - base
        finished = status.last if status and delivered else time.time()
        settle_deadline = time.monotonic() + 60
        while worker.running() and not settled() and time.monotonic() < settle_deadline:
            time.sleep(0.5)
        return Throughput(
            messages=delivered,
            target=target,
            seconds=max(finished - started, 1e-9),
            complete=delivered >= target,
            worker_peak_mb=main_peak,
            pool_peak_mb=pool_peak,
            load_before=load_before,
            note=note,
        )
    finally:
        run.procs.stop(worker)
        redis.Redis.from_url(BROKER_URL).flushdb()


def _worker_rss(pid: int) -> tuple[float, float]:
    """RSS (MB) of the worker's main process and of its largest pool process."""
    try:
        main = psutil.Process(pid)
        children = main.children(recursive=True)
        pool = max((c.memory_info().rss for c in children), default=0)
        return main.memory_info().rss / 2**20, pool / 2**20
    except psutil.Error:
        return 0.0, 0.0


def deliver(run: Run, *, campaign: int, target: int) -> None:
    def enqueue() -> float:
        result = run.phase("enqueue", "enqueue", timeout=300, campaign=campaign, limit=target)
        return float(result["started"])

    result = measure_workers(
        run,
        # A log of its own per round: readiness is read from it.
        name=f"bench-delivery-{len(run.results.get('delivery_rounds', [])) + 1}",
        app="reengagement",
        env=run.env(DJANGO_SETTINGS_MODULE="reengagement.settings", LOG_LEVEL="INFO"),
        enqueue=enqueue,
        target=target,
        settled=lambda: send_counts(run).get("sending", 0) == 0,
    )
    run.results.setdefault("delivery_rounds", []).append(result)
    run.results["delivery"] = Throughput.combine(run.results["delivery_rounds"])
    run.results["after_delivery"] = send_counts(run)


def bare(run: Run, *, target: int, batch_size: int, message: Path) -> None:
    def enqueue() -> float:
        started = time.time()
        bare_loop.enqueue(total=target, batch_size=batch_size)
        return started

    env = run.env(
        BENCH_BROKER_URL=BROKER_URL,
        BENCH_MESSAGE_FILE=str(message),
        BENCH_SMTP_PORT=str(run.sink_port),
    )
    result = measure_workers(
        run,
        name=f"bench-bare-{len(run.results.get('bare_rounds', [])) + 1}",
        app="bench.bare_loop",
        env=env,
        enqueue=enqueue,
        target=target,
    )
    run.results.setdefault("bare_rounds", []).append(result)
    run.results["bare"] = Throughput.combine(run.results["bare_rounds"])


def send_counts(run: Run) -> dict[str, int]:
    with db.connect(run.url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM campaigns_send GROUP BY status ORDER BY status"
        ).fetchall()
    return {str(status): int(str(n)) for status, n in rows}


def pass_counts(run: Run) -> dict[str, int]:
    now = run.now
    return {
        "enrolled": db.scalar(run.url, "SELECT count(*) FROM campaigns_enrollment"),
        "holdout": db.scalar(run.url, "SELECT count(*) FROM campaigns_enrollment WHERE is_holdout"),
        "sends": db.scalar(run.url, "SELECT count(*) FROM campaigns_send"),
        "queued": db.scalar(run.url, "SELECT count(*) FROM campaigns_send WHERE status = 'queued'"),
        "postponed": db.scalar(
            run.url,
            "SELECT count(*) FROM campaigns_send WHERE status = 'scheduled' AND due_at > %s",
            [now],
        ),
        # Treated learners with no send yet, if the engine keeps a postponed send as a due time
        # on the enrollment rather than as a row.
        "waiting_without_send": db.scalar(
            run.url,
            "SELECT count(*) FROM campaigns_enrollment e WHERE NOT e.is_holdout "
            "AND e.status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM campaigns_send s WHERE s.enrollment_id = e.id)",
        ),
    }


def machine(run: Run) -> list[tuple[str, str]]:
    commit = subprocess.run(
        ["git", "-C", str(BASE_DIR), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    url_ok = db.exists(run.url)
    return [
        ("cores (nproc)", str(os.cpu_count())),
        (
            "load average (1 min) at start / end",
            f"{run.results.get('load_start', 0.0):.2f} / {os.getloadavg()[0]:.2f}"
            " (other work on the machine skews every figure)",
        ),
        ("RAM", f"{psutil.virtual_memory().total / 2**30:.1f} GiB"),
        ("PostgreSQL", db.server_version(run.url) if url_ok else "?"),
        (
            "PostgreSQL commit latency",
            f"{db.commit_latency_ms(run.url):.1f} ms (fsync on; what each per-row save pays)"
            if url_ok
            else "?",
        ),
        ("Python", platform.python_version()),
        ("commit", commit or "?"),
        ("benchmark now", run.now.isoformat()),
        ("run directory", str(run.run_dir.relative_to(BASE_DIR))),
    ]


def _rounds_text(result: Throughput) -> str:
    if len(result.rounds) < 2:
        return ""
    return (
        f" in {len(result.rounds)} rounds: " + ", ".join(f"{r:,.0f}" for r in result.rounds) + "/s"
    )


def build_report(run: Run) -> Report:
    args, r = run.args, run.results
    report = Report(title=f"Engine benchmark, {args.learners:,} learners")
    report.machine = machine(run)
    loaded = r.get("load", {})
    if loaded.get("reused"):
        report.add("load", f"reused database ({loaded['learners']:,} learners)")
    elif loaded:
        report.add(
            "load (COPY, then VACUUM ANALYZE)",
            f"{loaded['rows']:,} rows in {seconds(loaded['seconds'])} "
            f"({rate(loaded['rows'] / loaded['seconds'], ' rows/s')}); "
            f"analyze {seconds(loaded['analyze_seconds'])}",
        )
    setup = r.get("setup", {})
    if setup:
        report.add(
            "campaign",
            f"{setup['steps']} steps from {setup['campaign_source']}; "
            f"segment 30–59 days: {setup['segment_size']:,} learners",
        )
    first, counts = r.get("first_pass"), r.get("pass_counts", {})
    if first:
        report.add(
            "first pass: time",
            seconds(first["seconds"]),
            f"≤ {FIRST_PASS_SECONDS:.0f} s",
            first["seconds"] <= FIRST_PASS_SECONDS,
        )
        report.add(
            "first pass: peak memory (RSS)",
            f"{first['peak_rss_mb']:.0f} MB (process at start {first['baseline_rss_mb']:.0f} MB)",
            f"≤ {PEAK_MB:.0f} MB",
            first["peak_rss_mb"] <= PEAK_MB,
        )
        report.add(
            "first pass: work",
            f"{counts.get('enrolled', 0):,} enrolled ({counts.get('holdout', 0):,} holdout), "
            f"{counts.get('sends', 0):,} sends created, {counts.get('queued', 0):,} queued, "
            f"{counts.get('postponed', 0):,} postponed (quiet hours), "
            f"{first['queries']} statements",
        )
    if "first pass" in run.errors:
        report.add(
            "first pass: time",
            f"> {run.failed_after.get('first pass', 0):.0f} s (stopped: "
            f"{run.errors['first pass'].splitlines()[0][:120]})",
            f"≤ {FIRST_PASS_SECONDS:.0f} s",
            False,
        )
    idle = r.get("idle_pass")
    if idle:
        report.add(
            "idle pass (a minute later): time",
            seconds(idle["seconds"]),
            f"≤ {IDLE_PASS_SECONDS:.0f} s",
            idle["seconds"] <= IDLE_PASS_SECONDS,
        )
        report.add(
            "idle pass: peak memory (RSS)",
            f"{idle['peak_rss_mb']:.0f} MB",
            f"≤ {PEAK_MB:.0f} MB",
            idle["peak_rss_mb"] <= PEAK_MB,
        )
    digest, digest_idle = r.get("digest_pass"), r.get("digest_idle_pass")
    if digest:
        managers = r.get("digest_settings", {}).get("managers", 0)
        report.add(
            "digest pass: every manager's weekly digest due",
            f"{seconds(digest['seconds'])}, {r.get('digests', 0):,} digests for {managers:,} "
            f"managers (those with a report in the campaign), {digest['peak_rss_mb']:.0f} MB peak",
            f"≤ {DIGEST_PASS_SECONDS:.0f} s",
            digest["seconds"] <= DIGEST_PASS_SECONDS,
        )
    if digest_idle:
        report.add(
            "idle pass after the digests (a minute later, none made again)",
            f"{seconds(digest_idle['seconds'])}, {digest_idle['result']['digests_created']} "
            f"digests created, {digest_idle['peak_rss_mb']:.0f} MB peak",
            f"≤ {IDLE_PASS_SECONDS:.0f} s",
            digest_idle["seconds"] <= IDLE_PASS_SECONDS
            and digest_idle["result"]["digests_created"] == 0,
        )
    delivery: Throughput | None = r.get("delivery")
    bare_result: Throughput | None = r.get("bare")
    if bare_result:
        report.add(
            "bare loop (2 processes, pre-rendered, no DB)",
            f"{rate(bare_result.per_second, ' emails/s')} "
            f"({bare_result.messages:,} in {seconds(bare_result.seconds)}"
            f"{_rounds_text(bare_result)}, load before ≤ {bare_result.load_before:.1f}"
            f"{'; ' + bare_result.note if bare_result.note else ''})",
            f"reference ≈ {REFERENCE_BARE_RATE:.0f}/s",
        )
    if delivery:
        target = ""
        ok = None
        if bare_result and bare_result.per_second:
            floor = DELIVERY_SHARE_OF_BARE * bare_result.per_second
            share = delivery.per_second / bare_result.per_second
            target = f"≥ 75% of bare = {floor:,.0f}/s"
            ok = delivery.complete and delivery.per_second >= floor
            share_text = f", {share:.0%} of bare"
        else:
            share_text = ""
        report.add(
            "delivery (2 worker processes → SMTP sink)",
            f"{rate(delivery.per_second, ' emails/s')}{share_text} "
            f"({delivery.messages:,} of {delivery.target:,} in {seconds(delivery.seconds)}"
            f"{_rounds_text(delivery)}, load before ≤ {delivery.load_before:.1f}"
            f"{'; ' + delivery.note if delivery.note else ''})",
            target,
            ok,
        )
        report.add(
            "delivery worker: peak RSS",
            f"main {delivery.worker_peak_mb:.0f} MB, pool process {delivery.pool_peak_mb:.0f} MB",
            f"≤ {PEAK_MB:.0f} MB",
            max(delivery.worker_peak_mb, delivery.pool_peak_mb) <= PEAK_MB
            if delivery.worker_peak_mb
            else None,
        )
        after = r.get("after_delivery", {})
        report.add(
            "sends by status after delivery", ", ".join(f"{k} {v:,}" for k, v in after.items())
        )
    naive = r.get("naive")
    if naive:
        report.add(
            "naive per-learner loop",
            f"{rate(naive['learners_per_second'], ' learners/s')} "
            f"({naive['learners']:,} learners in {seconds(naive['seconds'])}, "
            f"{naive['queries'] / max(naive['learners'], 1):.1f} queries/learner; "
            f"DB part alone {rate(naive['db_learners_per_second'], ' learners/s')})",
            "reference ≈ 132/s",
        )
    if naive and first and counts.get("enrolled"):
        engine_rate = counts["enrolled"] / first["seconds"]
        ratio = engine_rate / naive["learners_per_second"]
        report.add(
            "first pass vs naive (learners enrolled + day-0 send created per second)",
            f"{rate(engine_rate, ' learners/s')} = {ratio:,.0f}× naive "
            f"({engine_rate / naive['db_learners_per_second']:,.0f}× its DB part alone)",
            f"≥ {NAIVE_RATIO:.0f}×",
            ratio >= NAIVE_RATIO,
        )
        if delivery and delivery.per_second:
            e2e_seconds = first["seconds"] + counts.get("queued", 0) / delivery.per_second
            e2e_rate = counts["enrolled"] / e2e_seconds
            report.add(
                "end to end vs naive (first pass + delivering every day-0 send)",
                f"{rate(e2e_rate, ' learners/s')} = "
                f"{e2e_rate / naive['learners_per_second']:,.1f}× naive "
                f"({seconds(e2e_seconds)} for {counts['enrolled']:,} learners)",
                "(bounded by SMTP: bare loop / naive)",
            )
    for name, error in run.errors.items():
        report.add(f"{name}: FAILED", error.splitlines()[0][:200], "", False)
    report.notes += notes(run)
    report.details += plans(run)
    return report


def notes(run: Run) -> list[str]:
    out = [
        "Each pass ran in a fresh process; peak memory is that process's ru_maxrss "
        "(the PostgreSQL server's memory is not included).",
        "Delivery and bare loop: `celery worker --concurrency=2` (prefork), broker "
        f"{BROKER_URL}, batches of DELIVERY_BATCH_SIZE, timed from the first task sent to the "
        "sink accepting the last message; they take turns (--rounds), and each figure is all "
        "its messages over all its rounds' time.",
    ]
    if run.args.profile:
        out.append("The first pass ran under cProfile (--profile): its time is inflated.")
    first = run.results.get("first_pass")
    if first:
        out.append("PassResult of the first pass: `" + json.dumps(first["result"]) + "`")
    idle = run.results.get("idle_pass")
    if idle:
        out.append("PassResult of the idle pass: `" + json.dumps(idle["result"]) + "`")
    return out


def plans(run: Run) -> list[str]:
    out: list[str] = []
    stuck = run.run_dir / "first_pass.plans.md"
    if "first pass" in run.errors and stuck.exists():
        out += [
            "## Plans of the first pass's statements, taken as each started "
            "(it was stopped in the last one)",
            "",
            stuck.read_text(),
        ]
    for name in ("first_pass", "idle_pass", "digest_pass", "digest_idle_pass"):
        result = run.results.get(name)
        if not result:
            continue
        out += [f"## Slowest statements of the {name.replace('_', ' ')}", ""]
        for s in result["statements"][:5]:
            if s["seconds"] < 0.01:
                continue
            out += [
                f"{s['calls']}× {s['seconds']:.2f} s",
                "```sql",
                s["sql"][:1500],
                "```",
            ]
            if s["plan"]:
                out += ["```", s["plan"], "```"]
            out.append("")
    return out


def benchmark(run: Run) -> None:
    args = run.args
    if not run.step("database", lambda: prepare_database(run)):
        return
    if not run.step("campaign", lambda: _setup(run)):
        return
    campaign = int(run.results["setup"]["campaign_id"])
    batch_size = int(run.results["setup"]["batch_size"])
    if not run.step("smtp sink", lambda: start_sink(run)):
        return
    if args.naive_sample:
        run.step("naive loop", lambda: _naive(run, campaign))
    first_ok = run.step(
        "first pass",
        lambda: _pass(run, "first_pass", run.now, explain=args.explain, profile=args.profile),
    )
    if not first_ok:
        return
    run.results["pass_counts"] = pass_counts(run)
    print(f"   {run.results['pass_counts']}", flush=True)
    run.step(
        "idle pass",
        lambda: _pass(run, "idle_pass", run.now + dt.timedelta(minutes=1), explain=args.explain),
    )
    _digests(run)
    queued = run.results["pass_counts"]["queued"]
    target = min(args.deliver_sample or queued, queued)
    if not target:
        run.errors["delivery"] = "the first pass left no queued send to deliver"
        return
    message = run.run_dir / "message.json"
    rendered = run.step(
        "render a sample email", lambda: _render_sample(run, campaign=campaign, message=message)
    )
    # Delivery and the bare loop take turns, so that a change in the machine's speed during
    # the run (a shared host's neighbours) weighs on both alike rather than on one.
    rounds = max(min(args.rounds, target), 1)
    for number, size in enumerate(_split(target, rounds), start=1):
        of = f" (round {number} of {rounds})" if rounds > 1 else ""
        if not run.step(
            f"delivery of {size:,} sends{of}",
            functools.partial(deliver, run, campaign=campaign, target=size),
        ):
            break
        if rendered:
            run.step(
                f"bare loop of {size:,} messages{of}",
                functools.partial(bare, run, target=size, batch_size=batch_size, message=message),
            )


def _digests(run: Run) -> None:
    """The weekly digest: settings that make every manager due two minutes after the first
    pass, the pass that creates the digests, and a pass a minute later that makes none."""

    def settings() -> None:
        run.phase("digest_settings", "digest-settings", timeout=120)

    if not run.step("digest settings", settings):
        return
    explain = run.args.explain
    if not run.step(
        "digest pass",
        lambda: _pass(run, "digest_pass", run.now + dt.timedelta(minutes=2), explain=explain),
    ):
        return
    run.results["digests"] = db.scalar(run.url, "SELECT count(*) FROM campaigns_managerdigest")
    run.step(
        "idle pass after the digests",
        lambda: _pass(run, "digest_idle_pass", run.now + dt.timedelta(minutes=3), explain=explain),
    )


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal whole shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _render_sample(run: Run, *, campaign: int, message: Path) -> None:
    run.phase("render_sample", "render-sample", timeout=120, campaign=campaign, message=message)


def _setup(run: Run) -> None:
    run.phase("setup", "setup", timeout=300)


def _naive(run: Run, campaign: int) -> None:
    sample = run.args.naive_sample
    run.phase("naive", "naive", timeout=120 + sample / 10, campaign=campaign, sample=sample)
    # The loop's rows are gone again; the statistics must say so, as before a first pass.
    db.vacuum_analyze(run.url, ("campaigns_enrollment", "campaigns_send"))


def _pass(run: Run, name: str, now: dt.datetime, **options: Any) -> None:
    out = run.run_dir / f"{name}.json"
    argv = [PYTHON, "-m", "bench.phase", "pass", "--out", str(out), "--now", now.isoformat()]
    if options.get("explain"):
        argv.append("--explain")
    if options.get("profile"):
        argv += ["--profile", str(run.run_dir / f"{name}.prof.txt")]
    env = run.env(DJANGO_SETTINGS_MODULE="reengagement.settings")
    run.procs.run(name, argv, env, timeout=run.args.pass_timeout)
    run.results[name] = json.loads(out.read_text())
    print(f"   {run.results[name]['seconds']:.2f} s, {run.results[name]['peak_rss_mb']:.0f} MB")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument(
        "--deliver-sample",
        type=int,
        default=0,
        help="deliver (and bare-loop) this many messages; 0 for every day-0 send",
    )
    parser.add_argument("--naive-sample", type=int, default=2_000, help="0 skips the naive loop")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="delivery and the bare loop take turns in this many rounds",
    )
    parser.add_argument("--now", type=dt.datetime.fromisoformat, help="default: see choose_now")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pass-timeout", type=float, default=900)
    parser.add_argument(
        "--deliver-timeout", type=float, default=0, help="seconds; 0 scales with the sample"
    )
    parser.add_argument("--explain", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile", action="store_true", help="cProfile the first pass")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="keep the learners of an existing benchmark database of the same size",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database after")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    now = args.now or choose_now(dt.datetime.now(dt.UTC))
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = BASE_DIR / "var" / "bench"
    run_dir = out_dir / f"engine-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    url = db.bench_url()
    with Processes(run_dir) as procs:
        run = Run(args=args, now=now, url=url, run_dir=run_dir, procs=procs)
        run.results["load_start"] = os.getloadavg()[0]
        try:
            benchmark(run)
        except KeyboardInterrupt:
            run.errors["run"] = "interrupted"
        finally:
            procs.stop_all()
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(BROKER_URL).flushdb()
        report = build_report(run)
        if not args.keep_db:
            db.drop(url)
    text = report.markdown()
    path = out_dir / f"engine-{stamp}.md"
    path.write_text(text)
    print()
    print(text)
    print(f"(written to {path.relative_to(BASE_DIR)})")
    failed = run.errors or any(row.ok is False for row in report.rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
