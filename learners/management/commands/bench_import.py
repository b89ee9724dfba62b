"""``manage.py bench_import --count 100000``: time a learner import through the command's path."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from learners.demo import write_learner_csv
from learners.imports.files import import_file


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Write a CSV of generated learners to a temporary directory, import it twice (new "
        "learners, then the same file again: all unchanged) on the configured database, print "
        "rows/s, and roll everything back unless --keep is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="Commit the imported learners.")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        vendor = connection.vendor
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "learners.csv"
            write_learner_csv(path=path, count=count, prefix="BENCH")
            try:
                with transaction.atomic():
                    for label in ("first import", "re-import"):
                        started = time.perf_counter()
                        summary = import_file(kind="learners", path=path, now=timezone.now())
                        seconds = time.perf_counter() - started
                        self.stdout.write(
                            f"{vendor} {label}: {count} rows in {seconds:.1f} s, "
                            f"{count / seconds:,.0f} rows/s — {summary.lines()[0]}"
                        )
                    if not options["keep"]:
                        raise _Rollback
            except _Rollback:
                self.stdout.write("Rolled back (use --keep to keep the learners).")
