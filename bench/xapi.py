"""xAPI statements stored per second by the endpoint, on PostgreSQL, behind gunicorn.

``python -m bench.xapi`` migrates the benchmark database, loads learners and a course, starts
gunicorn (2 sync workers by default) and posts batches of 100 Moodle-shaped statements from a
few client threads over keep-alive connections, then counts what PostgreSQL holds. Every
statement names a known learner and a known course, so each one is stored, applied as
activity and moves a learner: the full path, not the cheap "ignored" one.

Run it alone (``flock /tmp/bench.lock python -m bench.xapi``): its figure is the machine's.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import socket
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .db import connect, create, exists, vacuum_analyze
from .procs import PYTHON, Processes, wait_for_log

BASE_DIR = Path(__file__).resolve().parent.parent
# Its own database: the engine benchmark's learners must survive this one's TRUNCATE.
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_xapi"
LEARNER_TABLES = (
    "learners_lmsstatement",
    "learners_lmssource",
    "learners_activityevent",
    "learners_courseprogress",
    "learners_course",
    "learners_learner",
)
KEY, SECRET = "lms-bench", "bench-secret-not-for-production"
COURSE_IRI = "https://moodle.example.com/course/view.php?id=2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DB_CONN_MAX_AGE": "600",
        "DEBUG": "0",
        # With DEBUG off (as in production, where Django keeps no query log) the settings want
        # a public https base; the benchmark talks plain http to its own server on loopback.
        "PUBLIC_BASE_URL": "https://bench.example.com",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def prepare(url: str, *, learners: int, processes: Processes) -> None:
    """A migrated database with ``learners`` learners, one course and one LMS source."""
    if not exists(url):
        create(url)
    processes.run(
        "migrate",
        [PYTHON, str(BASE_DIR / "manage.py"), "migrate", "--noinput"],
        _env(url),
        timeout=600,
    )
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    with connect(url) as conn:
        conn.execute("TRUNCATE " + ", ".join(LEARNER_TABLES) + " RESTART IDENTITY CASCADE")
        with conn.cursor().copy(
            "COPY learners_learner (external_id, email, first_name, last_name, role, team,"
            " time_zone, locale, last_active_at, suppression_reason, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for n in range(learners):
                copy.write_row(
                    (f"B{n:07d}", f"b{n}@example.com", "B", str(n), "", "", "UTC", "en",
                     long_ago, "", long_ago, long_ago)
                )  # fmt: skip
        conn.execute(
            "INSERT INTO learners_course (external_id, title, course_type, url)"
            " VALUES ('2', 'Data protection', 'compliance', %s)",
            [COURSE_IRI],
        )
        conn.execute(
            "INSERT INTO learners_lmssource (name, key, secret_digest, caliper_sensor, created_at)"
            " VALUES ('Bench Moodle', %s, %s, '', now())",
            [KEY, digest],
        )
    vacuum_analyze(url, LEARNER_TABLES)


def statement(learner: int, at: dt.datetime) -> dict[str, Any]:
    """A statement shaped like logstore_xapi's course_module_viewed, with an id."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://moodle.example.com", "name": f"B{learner:07d}"}},
        "verb": {"id": "http://id.tincanapi.com/verb/viewed", "display": {"en": "Viewed"}},
        "object": {
            "id": "https://moodle.example.com/mod/page/view.php?id=7",
            "definition": {
                "name": {"en": "Module 2: Handling personal data"},
                "type": "http://id.tincanapi.com/activitytype/lms",
            },
            "objectType": "Activity",
        },
        "timestamp": at.isoformat(),
        "context": {
            "platform": "Moodle",
            "language": "en",
            "contextActivities": {
                "parent": [
                    {
                        "id": COURSE_IRI,
                        "definition": {"type": "https://w3id.org/xapi/cmi5/activitytype/course"},
                        "objectType": "Activity",
                    }
                ]
            },
        },
    }


def bodies(*, count: int, batch: int, learners: int) -> list[bytes]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    out = []
    for start in range(0, count, batch):
        batch_items = [statement((start + i) % learners, at) for i in range(batch)]
        out.append(json.dumps(batch_items).encode())
    return out


class Client(threading.Thread):
    """Posts its share of the bodies over one keep-alive connection, timing each request."""

    def __init__(self, port: int, work: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.port, self.work = port, work
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        headers = {
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for body in self.work:
            started = time.perf_counter()
            conn.request("POST", "/xapi/statements", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            self.latencies.append(time.perf_counter() - started)
            if response.status != 200:
                self.failures.append(f"{response.status}: {payload[:200]!r}")
        conn.close()


def post_all(port: int, work: list[bytes], *, clients: int) -> tuple[float, list[Client]]:
    threads = [Client(port, work[i::clients]) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, threads


def count(url: str, table: str) -> int:
    with connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(str(row[0])) if row else 0


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    with Processes(log_dir) as processes:
        prepare(url, learners=args.learners, processes=processes)
        port = _free_port()
        web = processes.start(
            "gunicorn",
            [PYTHON, "-m", "gunicorn", "reengagement.wsgi", "-w", str(args.workers),
             "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--keep-alive", "30"],
            _env(url),
        )  # fmt: skip
        wait_for_log(web, "Booting worker", timeout=60)
        time.sleep(2)  # Both workers up, not just the first.
        warmup = bodies(count=args.batch * args.workers * 4, batch=args.batch, learners=10)
        post_all(port, warmup, clients=args.clients)
        # Statistics of a database in service, not of the tables just emptied.
        vacuum_analyze(url, LEARNER_TABLES)
        before = count(url, "learners_lmsstatement")
        work = bodies(count=args.statements, batch=args.batch, learners=args.learners)
        load_before = os.getloadavg()
        seconds, clients = post_all(port, work, clients=args.clients)
        load_after = os.getloadavg()
    stored = count(url, "learners_lmsstatement") - before
    applied = count(url, "learners_activityevent") - len(warmup) * args.batch
    latencies = sorted(lat for c in clients for lat in c.latencies)
    failures = [f for c in clients for f in c.failures]
    print(f"xAPI statements: {args.statements} in batches of {args.batch}, "
          f"{args.workers} gunicorn workers x {args.threads} threads, "
          f"{args.clients} client threads")  # fmt: skip
    rate, requests = stored / seconds, len(latencies) / seconds
    print(f"  stored {stored} ({applied} applied as activity) in {seconds:.2f} s "
          f"= {rate:,.0f} statements/s, {requests:.1f} requests/s")  # fmt: skip
    if latencies:
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"  request latency: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms")  # fmt: skip
    print(f"  load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"on {os.cpu_count()} cores")  # fmt: skip
    if failures:
        print(f"  {len(failures)} requests failed, e.g. {failures[0]}")
    ok = stored == args.statements and not failures
    if args.target and rate < args.target:
        print(f"  below the target of {args.target:,} statements/s")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_XAPI_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--statements", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--learners", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--target", type=int, default=5000, help="statements/s to reach")
    parser.add_argument("--log-dir", default=str(BASE_DIR / "var" / "bench-xapi"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse_args()))
