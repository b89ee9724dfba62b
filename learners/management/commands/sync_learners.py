"""``manage.py sync_learners FILE``: apply an LMS's full export of its learners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from learners.imports.formats import UnreadableFile
from learners.sync.bulk import sync_file


class Command(BaseCommand):
    help = (
        "Apply a full learners export (CSV: external_id, email, names, role, team, manager, "
        "time zone, locale, last_active_at) in set-based statements on PostgreSQL. Bad rows "
        "are listed by number and the good ones applied; unsubscribe, suppression and sunset "
        "are never changed. --dry-run checks and counts without saving."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["csv", "xlsx"], default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = sync_file(
                path=options["file"],
                now=timezone.now(),
                file_format=options["format"],
                dry_run=options["dry_run"],
            )
        except UnreadableFile as exc:
            raise CommandError(str(exc)) from None
        for line in summary.lines():
            self.stdout.write(line)
        if summary.file_errors:
            raise CommandError("The file was not imported.")
