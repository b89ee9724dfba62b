"""``manage.py import_data KIND FILE``: import learners, courses, progress or activity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone
from tqdm import tqdm

from learners.imports.files import FORMATS, RESOURCES, import_file
from learners.imports.formats import UnreadableFile
from learners.models import ColumnMapping


class _Unterminated:
    """The command's stderr for tqdm: tqdm redraws its line with a carriage return, and
    OutputWrapper.write would otherwise end every redraw with a newline."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file of learners, courses, progress or activity. Good rows are "
        "saved even when others fail; each failing row is listed with its number (1 = the "
        "first row after the header). Exits non-zero only when the file cannot be read."
    )
    #: Set by the per-kind aliases (import_learners …), which take no KIND argument.
    kind: str | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        if self.kind is None:
            parser.add_argument("kind", choices=sorted(RESOURCES))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check every row, save nothing.")
        parser.add_argument(
            "--format", choices=sorted(FORMATS), help="Default: from the file's extension."
        )
        parser.add_argument(
            "--source",
            help="Use the column mapping saved in the admin for this source (e.g. 'Moodle').",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = self.kind or options["kind"]
        column_map = self._column_map(kind=kind, source=options["source"])
        bars: list[tqdm[Any]] = []

        def start(rows: int) -> None:
            bars.append(
                tqdm(
                    total=rows,
                    unit=" rows",
                    file=_Unterminated(self.stderr),
                    desc=kind,
                    mininterval=0.5,
                )
            )

        try:
            summary = import_file(
                kind=kind,
                path=options["file"],
                now=timezone.now(),
                file_format=options["format"],
                dry_run=options["dry_run"],
                on_start=start,
                on_row=lambda: bars[0].update(),
                column_map=column_map,
            )
        except UnreadableFile as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars:
                bar.close()
        for line in summary.lines():
            self.stdout.write(line)
        if summary.file_errors:
            raise CommandError("Nothing was imported.")

    def _column_map(self, *, kind: str, source: str | None) -> dict[str, str] | None:
        if not source:
            return None
        mapping = ColumnMapping.objects.filter(kind=kind, source=source).first()
        if mapping is None:
            known = ColumnMapping.objects.filter(kind=kind).values_list("source", flat=True)
            raise CommandError(
                f"No column mapping for {kind} from {source!r} "
                f"(saved sources: {', '.join(known) or 'none'})."
            )
        return dict(mapping.columns)
