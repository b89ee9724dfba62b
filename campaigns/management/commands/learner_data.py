"""``manage.py learner_data export|erase EMAIL_OR_LMS_ID``: a learner's data rights.

``export`` prints everything held about the learner as one JSON document (or writes it to
``--output``); ``erase`` erases their personal data and prints what changed per table.
"""

from __future__ import annotations

import getpass
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.data_rights.erase import erase_subject
from campaigns.data_rights.export import export_json
from campaigns.data_rights.subjects import find_subject


class Command(BaseCommand):
    help = (
        "export: everything held about a learner (or manager) as JSON; erase: delete or "
        "anonymise their personal data everywhere and suppress the address for good."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("identifier", metavar="EMAIL_OR_LMS_ID")
        parser.add_argument("--output", type=Path, help="export: write the JSON to this file")
        parser.add_argument(
            "--by", help="erase: who asked for it, for the log (default: the system user)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            subject = find_subject(identifier=options["identifier"])
            if options["action"] == "export":
                text = export_json(subject=subject, now=now)
                if options["output"]:
                    options["output"].write_text(text, encoding="utf-8")
                    self.stdout.write(f"written to {options['output']}")
                else:
                    self.stdout.write(text)
                return
            by = options["by"] or f"manage.py ({getpass.getuser()})"
            erasure = erase_subject(subject=subject, user=_Operator(by), now=now)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for table, count in erasure.counts.items():
            self.stdout.write(f"{table}: {count}")
        self.stdout.write(f"erased; logged as erasure {erasure.pk} ({erasure.lms_id or 'manager'})")


class _Operator:
    """Who ran the command, for the log: no user account behind it."""

    pk = None

    def __init__(self, username: str) -> None:
        self.username = username
