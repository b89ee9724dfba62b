"""``manage.py bench_sync --count 1000000``: time the nightly full sync of learners."""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from learners.demo import write_learner_csv
from learners.models import Learner
from learners.sync.bulk import sync_learners

TEAM = 5  # column of the team in write_learner_csv's file


class _Rollback(Exception):
    pass


def write_nightly(*, source: Path, target: Path, every: int) -> int:
    """``source`` with the team of one row in ``every`` changed: the night's real changes."""
    changed = 0
    with source.open(newline="") as inp, target.open("w", newline="") as out:
        reader, writer = csv.reader(inp), csv.writer(out)
        writer.writerow(next(reader))
        for number, row in enumerate(reader):
            if number % every == 0:
                row[TEAM] = f"{row[TEAM]} (moved)"
                changed += 1
            writer.writerow(row)
    return changed


class Command(BaseCommand):
    help = (
        "Generate COUNT learners as an LMS export, sync it (the first load), mark 1% of them "
        "unsubscribed, then sync the next night's export (same learners, 2% changed) and print "
        "both times; checks that no unsubscribe was cleared. Rolled back unless --keep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1_000_000)
        parser.add_argument("--changed-percent", type=float, default=2.0)
        parser.add_argument("--keep", action="store_true", help="Commit the synced learners.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The set-based sync needs PostgreSQL (set DATABASE_URL).")
        count: int = options["count"]
        with tempfile.TemporaryDirectory() as tmp:
            first, nightly = Path(tmp) / "first.csv", Path(tmp) / "nightly.csv"
            started = time.perf_counter()
            write_learner_csv(path=first, count=count, prefix="SYNC")
            changed = write_nightly(
                source=first, target=nightly, every=round(100 / options["changed_percent"])
            )
            self.stdout.write(f"wrote {count:,} learners, {changed:,} changed for the night, "
                              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
            try:
                with transaction.atomic():
                    self._run(first, nightly, count)
                    if not options["keep"]:
                        raise _Rollback
            except _Rollback:
                self.stdout.write("Rolled back (use --keep to keep the learners).")

    def _timed(self, label: str, path: Path, count: int) -> None:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        summary = sync_learners(path=path, now=timezone.now())
        seconds = time.perf_counter() - started
        self.stdout.write(f"{label}: {count:,} rows in {seconds:.1f} s, {count / seconds:,.0f} "
                          f"rows/s (load {load:.1f}) — {summary.lines()[0]}")  # fmt: skip

    def _run(self, first: Path, nightly: Path, count: int) -> None:
        self._timed("first load", first, count)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE learners_learner SET unsubscribed_at = %s"
                " WHERE external_id LIKE 'SYNC%%' AND id %% 100 = 0",
                [timezone.now()],
            )
            unsubscribed = cursor.rowcount
        self._timed("nightly sync", nightly, count)
        still = Learner.objects.filter(unsubscribed_at__isnull=False).count()
        self.stdout.write(f"unsubscribed before and after the nightly sync: {unsubscribed:,} / "
                          f"{still:,}")  # fmt: skip
        if still != unsubscribed:
            raise CommandError("The nightly sync changed unsubscribes.")
