"""Which column of a file feeds which field: our own names, the headers LMS exports use, or a
mapping staff saved for a source. Columns that feed nothing are listed, never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from learners.imports.formats import UnreadableFile
from learners.imports.widgets import normalize_header


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's header maps onto a resource's columns."""

    #: File column (normalized) → the resource's column it feeds.
    renames: dict[str, str] = field(default_factory=dict)
    #: File columns that feed nothing, as the file names them.
    ignored: list[str] = field(default_factory=list)
    #: Required columns the file lacks.
    missing: list[str] = field(default_factory=list)

    def header_for(self, header: str) -> str:
        """The name ``header`` takes in the dataset the resource reads."""
        return self.renames.get(header, header)


def plan_columns(
    *,
    headers: Sequence[str],
    known: Sequence[str],
    required: Sequence[str],
    aliases: Mapping[str, Sequence[str]],
    column_map: Mapping[str, str],
) -> ColumnPlan:
    """Match ``headers`` (normalized) to ``known`` columns.

    For each known column the first match wins: the column a staff mapping names, then a
    column of the same name, then the first LMS alias present in the file.
    """
    present = list(headers)
    chosen: dict[str, str] = {}
    staff = {normalize_header(theirs): ours for theirs, ours in column_map.items()}
    for header, ours in staff.items():
        if header in present and ours in known and ours not in chosen.values():
            chosen[header] = ours
    for ours in known:
        if ours in chosen.values():
            continue
        candidates = [ours, *aliases.get(ours, ())]
        match = next((c for c in candidates if c in present and c not in chosen), None)
        if match is not None:
            chosen[match] = ours
    ignored = [header for header in present if header not in chosen and header]
    missing = [column for column in required if column not in chosen.values()]
    renames = dict(chosen)
    for header in ignored:
        if header in known:
            # A column of ours that a staff mapping replaced: kept apart, so it cannot clash.
            renames[header] = f"{header} (ignored)"
    return ColumnPlan(renames=renames, ignored=ignored, missing=missing)


def expected_columns(
    *, known: Sequence[str], required: Sequence[str], aliases: Mapping[str, Sequence[str]]
) -> str:
    """``external_id (required; or username, user_id), email (required), first_name …``"""
    parts = []
    for column in known:
        notes = ["required"] if column in required else []
        if aliases.get(column):
            notes.append("or " + ", ".join(aliases[column]))
        parts.append(f"{column} ({'; '.join(notes)})" if notes else column)
    return ", ".join(parts)


def check_plan(
    plan: ColumnPlan,
    *,
    headers: Sequence[str],
    known: Sequence[str],
    required: Sequence[str],
    aliases: Mapping[str, Sequence[str]],
) -> None:
    """Refuse a file that lacks a column every row needs, with every column expected."""
    if not plan.missing:
        return
    missing = " or ".join(plan.missing)
    expected = expected_columns(known=known, required=required, aliases=aliases)
    raise UnreadableFile(
        f"The file has no {missing} column (it has: {', '.join(headers)}). "
        f"The columns expected: {expected}."
    )


def parse_mapping(text: str) -> dict[str, str]:
    """``"Employee number = external_id"`` lines → ``{"Employee number": "external_id"}``."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        theirs, separator, ours = line.partition("=")
        if not separator or not theirs.strip() or not ours.strip():
            raise ValueError(f"Line {number} is not “their column = our column”: {line.strip()}")
        mapping[theirs.strip()] = normalize_header(ours)
    return mapping


def format_mapping(mapping: Mapping[str, str]) -> str:
    return "\n".join(f"{theirs} = {ours}" for theirs, ours in mapping.items())
