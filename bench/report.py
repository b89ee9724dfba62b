"""The benchmark's one table: each figure, its target and whether it met it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return ""
        return "pass" if self.ok else "**FAIL**"


@dataclass
class Report:
    title: str
    machine: list[tuple[str, str]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(figure, value, target, ok))

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        lines += ["| machine | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.machine]
        lines += ["", "| figure | value | target | result |", "|---|---|---|---|"]
        lines += [f"| {r.figure} | {r.value} | {r.target} | {r.verdict} |" for r in self.rows]
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        if self.details:
            lines += ["", *self.details]
        return "\n".join(lines) + "\n"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def rate(value: float, unit: str = "/s") -> str:
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:,.1f}{unit}"
