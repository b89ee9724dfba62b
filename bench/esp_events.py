"""``python -m bench.esp_events``: ESP events end to end on PostgreSQL.

Loads ``--sends`` sent emails (one learner, enrollment and send each, by ``INSERT … SELECT``),
then posts ``--events`` ESP events — delivered, opened, hard-bounced, complained, and 10% of
them replayed — as real SendGrid webhook requests (JSON arrays of ``--batch`` events) to
gunicorn, while 2 Celery worker processes apply them. The figure is events per second from
the first post to the last event applied. Then, with the events table full, the pass's idle
work: applying nothing and the engine's idle pass.

Uses ``BENCH_ESP_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/bench_esp``),
dropped afterwards unless ``--keep-db``; with ``--keep-db`` an existing database is emptied
instead of dropped. Redis db ``--redis-db`` (default 14) carries the tasks.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import datetime as dt
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench import db
from bench.procs import PYTHON, Processes, wait_for_log

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET = "bench:webhook-secret"  # noqa: S105 (a local benchmark server)
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
TABLES = (
    "campaigns_click",
    "campaigns_deliverabilityalert",
    "campaigns_suppressedaddress",
    "campaigns_espevent",
    "campaigns_surveyresponse",
    "campaigns_send",
    "campaigns_enrollment",
    "campaigns_variant",
    "campaigns_step",
    "campaigns_campaign",
    "campaigns_segment",
    "campaigns_passlock",
    "learners_activityevent",
    "learners_courseprogress",
    "learners_learner",
)
# Of the unique events: what a day of a real campaign's feedback looks like, bounces and
# complaints far above real rates so that suppression is measured too.
MIX = (("delivered", 0.45), ("open", 0.30), ("bounce", 0.15), ("spamreport", 0.10))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000, help="posted, replays included")
    parser.add_argument("--batch", type=int, default=100, help="events per webhook post")
    parser.add_argument("--clients", type=int, default=4, help="concurrent posting clients")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--idle", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def database_url() -> str:
    return os.environ.get("BENCH_ESP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_esp")


def env_for(url: str, broker: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "DEBUG": "false",
        # With DEBUG off (as in production, where Django keeps no query log) the settings want
        # a public https base; the benchmark talks plain http to its own server on loopback.
        "PUBLIC_BASE_URL": "https://bench.example.com",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WEBHOOK_SECRET": SECRET,
        # The guardrail throttle is shared by the workers and the pass, as in production.
        "CACHE_URL": broker,
        "VAR_DIR": str(Path(tempfile.gettempdir()) / "bench-esp-var"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "reengagement.settings",
    }


def prepare(url: str, keep: bool, procs: Processes, env: dict[str, str]) -> None:
    if keep and db.exists(url):
        procs.run("migrate", [PYTHON, "manage.py", "migrate", "--noinput"], env, timeout=600)
        with db.connect(url) as conn:
            conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        return
    db.drop(url)
    db.create(url)
    procs.run("migrate", [PYTHON, "manage.py", "migrate", "--noinput"], env, timeout=600)


def load(url: str, sends: int) -> float:
    """One learner, enrollment and sent email per send, server-side."""
    started = time.monotonic()
    at = NOW - dt.timedelta(days=1)
    with db.connect(url) as conn:
        conn.execute(
            "INSERT INTO campaigns_segment (name, description, roles, teams, course_types, "
            "created_at, updated_at) VALUES ('Bench', '', 'nobody', '', '', %s, %s)",
            [at, at],
        )
        conn.execute(
            "INSERT INTO campaigns_campaign (name, slug, description, segment_id, status, "
            "priority, goal_window_days, holdout_percent, quiet_hours_start, quiet_hours_end, "
            "sending_weekdays, weekly_cap, from_name, from_email, reply_to, postal_address, "
            "utm_source, utm_campaign, welcome_back_enabled, welcome_back_subject, "
            "welcome_back_body, goal_activity_kinds, "
            "sunset_after_days, created_at, updated_at) "
            "SELECT 'Bench', 'bench', '', id, 'active', 100, 21, 0, '21:00', '08:00', "
            "'0,1,2,3,4', 3, 'Bench', 'bench@example.com', '', 'Bench, 1 Way', 'bench', '', false, "
            "'', '', '', 7, %s, %s FROM campaigns_segment",
            [at, at],
        )
        conn.execute(
            "INSERT INTO campaigns_step (campaign_id, position, name, delay_days, delay_hours, "
            "audience, subject, preheader, body, cta_label, cta_target, cta_url, "
            "manager_subject, manager_body, manager_script) SELECT id, 1, 'Day 0', 0, 0, "
            "'learner', 'Hi', '', 'Hello', 'Resume', 'resume', '', '', '', '' "
            "FROM campaigns_campaign"
        )
        conn.execute(
            "INSERT INTO learners_learner (external_id, email, first_name, last_name, role, "
            "team, time_zone, locale, suppression_reason, created_at, updated_at, "
            "last_active_at) SELECT 'L' || g, 'l' || g || '@example.com', 'F', 'L', 'Sales', "
            "'EMEA', 'UTC', 'en', '', %s, %s, %s FROM generate_series(1, %s) g",
            [at, at, at - dt.timedelta(days=40), sends],
        )
        conn.execute(
            "INSERT INTO campaigns_enrollment (campaign_id, learner_id, enrolled_at, "
            "is_holdout, status, exit_reason) SELECT c.id, l.id, %s, false, 'active', '' "
            "FROM learners_learner l CROSS JOIN campaigns_campaign c",
            [at],
        )
        conn.execute(
            "INSERT INTO campaigns_send (enrollment_id, campaign_id, learner_id, kind, "
            "audience, to_email, status, due_at, postponed_reason, skip_reason, attempts, "
            "last_error, created_at, sent_at, subject, destination_url, message_id, "
            "esp_message_id, click_count) SELECT e.id, e.campaign_id, e.learner_id, "
            "'welcome_back', 'learner', l.email, 'sent', %s, '', '', 1, '', %s, %s, 'Hi', '', "
            "'', 'bench-' || l.id, 0 FROM campaigns_enrollment e JOIN learners_learner l "
            "ON l.id = e.learner_id",
            [at, at, at],
        )
    db.vacuum_analyze(url)
    return time.monotonic() - started


def _event(kind: str, learner: int, serial: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "email": f"l{learner}@example.com",
        "timestamp": int((NOW - dt.timedelta(hours=20)).timestamp()) + serial % 3600,
        "event": kind,
        "sg_event_id": f"bench-{serial}",
        "sg_message_id": f"sg-{learner}.filter0001",
        "anymail_id": f"bench-{learner}",
    }
    if kind == "bounce":
        event.update(
            type="bounce",
            status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
        )
    if kind == "open":
        event["useragent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/133"
    return event


def build_posts(*, sends: int, events: int, batch: int, seed: int = 7) -> tuple[list[bytes], int]:
    """The request bodies, shuffled, and the number of unique events among them."""
    rng = random.Random(seed)
    unique = round(events / 1.1)
    kinds = [kind for kind, share in MIX for _ in range(round(unique * share))][:unique]
    learners = rng.sample(range(1, sends + 1), k=min(sends, unique))
    all_events = [_event(kind, learners[i % len(learners)], i) for i, kind in enumerate(kinds)]
    replays = rng.sample(all_events, k=events - len(all_events))
    stream = all_events + replays
    rng.shuffle(stream)
    bodies = [json.dumps(stream[i : i + batch]).encode() for i in range(0, len(stream), batch)]
    return bodies, len(all_events)


def post_all(port: int, bodies: list[bytes], clients: int) -> tuple[float, list[int]]:
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    chunks = [bodies[i::clients] for i in range(clients)]

    def worker(mine: list[bytes]) -> list[int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        codes = []
        for body in mine:
            conn.request(
                "POST",
                "/anymail/sendgrid/tracking/",
                body=body,
                headers={"Content-Type": "application/json", "Authorization": auth},
            )
            response = conn.getresponse()
            response.read()
            codes.append(response.status)
        conn.close()
        return codes

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        codes = [code for result in pool.map(worker, chunks) for code in result]
    return time.monotonic() - started, codes


def counts(url: str) -> dict[str, int]:
    with db.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE applied_at IS NULL) FROM campaigns_espevent"
        ).fetchone()
        sends = conn.execute(
            "SELECT count(delivered_at), count(opened_at), count(bounced_at), "
            "count(complained_at) FROM campaigns_send"
        ).fetchone()
        suppressed = conn.execute("SELECT count(*) FROM campaigns_suppressedaddress").fetchone()
        paused = conn.execute(
            "SELECT count(*) FROM campaigns_campaign WHERE status = 'paused'"
        ).fetchone()
    assert row and sends and suppressed and paused
    values = [*row, *sends, *suppressed, *paused]
    names = ["stored", "unapplied", "delivered", "opened", "bounced", "complained"]
    return dict(zip([*names, "suppressed", "paused"], (int(str(v)) for v in values), strict=True))


def idle_pass(env: dict[str, str], procs: Processes, log_dir: Path) -> dict[str, float]:
    """The pass's own work with the events table full, timed in a fresh process."""
    out = log_dir / "idle.json"
    procs.run("idle", [PYTHON, "-m", "bench.esp_events", "--idle", str(out)], env, timeout=300)
    times = json.loads(out.read_text())
    totals = [a + p for a, p in zip(times["apply"], times["pass"], strict=True)]
    return {
        "apply_pending": statistics.median(times["apply"]),
        "pass": statistics.median(times["pass"]),
        "total": statistics.median(totals),
    }


def measure_idle(out: Path) -> None:
    """In the child: what the run_pass task does when nothing is new, three times."""
    import django

    django.setup()
    from campaigns.engine import run
    from campaigns.feedback import apply

    now = NOW + dt.timedelta(hours=1)
    times: dict[str, list[float]] = {"apply": [], "pass": []}
    for _ in range(3):
        started = time.perf_counter()
        apply.apply_pending(now=now)
        times["apply"].append(time.perf_counter() - started)
        started = time.perf_counter()
        run.run_pass(now=now)
        times["pass"].append(time.perf_counter() - started)
    out.write_text(json.dumps(times))


def wait_applied(url: str, unique: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = counts(url)
        if state["stored"] >= unique and state["unapplied"] == 0:
            return time.monotonic()
        time.sleep(0.25)
    raise RuntimeError(f"events not applied after {timeout:.0f} s: {counts(url)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.idle:
        measure_idle(args.idle)
        return 0
    url = database_url()
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    env = env_for(url, broker)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-esp-"))
    redis.Redis.from_url(broker).flushdb()
    with Processes(log_dir) as procs:
        os.chdir(BASE_DIR)
        prepare(url, args.keep_db, procs, env)
        load_seconds = load(url, args.sends)
        print(f"loaded {args.sends:,} sends in {load_seconds:.1f} s", flush=True)
        bodies, unique = build_posts(sends=args.sends, events=args.events, batch=args.batch)
        web = procs.start(
            "gunicorn",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "reengagement.wsgi",
                "-b",
                f"127.0.0.1:{args.port}",
                "-w",
                str(args.web_workers),
            ],
            env,
        )
        worker = procs.start(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "reengagement",
                "worker",
                "--concurrency=2",
                "--pool=prefork",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env,
        )
        wait_for_log(web, "Booting worker", timeout=60)
        wait_for_log(worker, " ready.", timeout=120)
        load_before = os.getloadavg()
        started = time.monotonic()
        posting, codes = post_all(args.port, bodies, args.clients)
        finished = wait_applied(url, unique, args.timeout)
        load_after = os.getloadavg()
        procs.stop(worker)
        procs.stop(web)
        idle = idle_pass(env, procs, log_dir)
        # After the idle pass: it recounts the rates of campaigns a worker's throttle put off.
        state = counts(url)
    elapsed = finished - started
    bad = [c for c in codes if c != 200]
    print(
        "\n".join(
            [
                f"sends in the table:            {args.sends:,}",
                f"events posted (10% replays):   {args.events:,} in {len(bodies):,} posts of "
                f"{args.batch}, {args.clients} clients; non-200 answers: {len(bad)}",
                f"unique events stored:          {state['stored']:,} (expected {unique:,})",
                f"all answered after:            {posting:.1f} s "
                f"({args.events / posting:,.0f} events/s stored)",
                f"all applied after:             {elapsed:.1f} s",
                f"end to end:                    {args.events / elapsed:,.0f} events/s "
                "(target ≥ 2,000)",
                f"send state:                    {state['delivered']:,} delivered, "
                f"{state['opened']:,} opened, {state['bounced']:,} bounced, "
                f"{state['complained']:,} complained; {state['suppressed']:,} addresses "
                f"suppressed; campaigns paused by the guardrails: {state['paused']}",
                f"idle pass, events table full:  apply_pending {idle['apply_pending']:.3f} s + "
                f"engine pass {idle['pass']:.3f} s = {idle['total']:.3f} s (target ≤ 1 s)",
                f"load average before/after:     {load_before[0]:.2f} / {load_after[0]:.2f}",
                f"logs:                          {log_dir}",
            ]
        ),
        flush=True,
    )
    if not args.keep_db:
        db.drop(url)
    return 0 if not bad and state["unapplied"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
