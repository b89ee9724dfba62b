"""``sync_learners``: the same command on any database; XLSX and SQLite take the row path."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from learners.models import Learner

from ..conftest import csv_text


def test_it_syncs_a_file_and_lists_the_bad_rows(db, write_file, capsys):
    path = write_file("all.csv", csv_text("external_id,email", "L1,a@example.com", "L2,bad"))

    call_command("sync_learners", str(path))

    out = capsys.readouterr().out
    assert "learners: 2 rows read; created 1, updated 0, unchanged 0, errors 1" in out
    assert "row 3: email: Enter a valid email address." in out
    assert list(Learner.objects.values_list("external_id", flat=True)) == ["L1"]


def test_an_xlsx_file_and_a_dry_run(db, write_file, capsys):
    path = write_file("all.xlsx", [["external_id", "email"], ["L1", "a@example.com"]])

    call_command("sync_learners", str(path), "--dry-run")

    assert "(dry run: nothing was saved)" in capsys.readouterr().out
    assert not Learner.objects.exists()


def test_an_unreadable_file_stops_the_command(db, write_file):
    path = write_file("all.csv", csv_text("name", "Ana"))

    with pytest.raises(CommandError, match="no external_id or email column"):
        call_command("sync_learners", str(path))
    assert not Learner.objects.exists()
