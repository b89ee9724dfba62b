"""When mail may go out: quiet hours and sending days in the learner's own time zone.

Everything here is a pure function of its arguments (``now`` included), so the engine can ask
once per (campaign, time zone) group instead of once per learner.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

# A learner with an unknown zone is treated as UTC rather than never mailed.
FALLBACK_ZONE = zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class Window:
    """Where a campaign may send: wall-clock quiet hours and allowed weekdays (0=Monday)."""

    quiet_start: dt.time
    quiet_end: dt.time
    weekdays: frozenset[int]


@dataclass(frozen=True)
class Decision:
    """Whether ``now`` is allowed and, if not, the next allowed moment (UTC) and why."""

    allowed: bool
    next_allowed: dt.datetime
    reason: str = ""


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone, or UTC when the name is not one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return FALLBACK_ZONE


def _open_intervals(window: Window) -> list[tuple[dt.time, dt.time | None]]:
    """A day's sendable wall-clock intervals [start, end); ``None`` means until midnight."""
    start, end = window.quiet_start, window.quiet_end
    if start == end:
        return [(dt.time(0), None)]
    if start > end:
        # Quiet across midnight (20:00–08:00): open from the end of one night to the next.
        return [(end, start)]
    return [(dt.time(0), start), (end, None)]


def _is_open(t: dt.time, interval: tuple[dt.time, dt.time | None]) -> bool:
    start, end = interval
    return start <= t and (end is None or t < end)


def decide(*, now: dt.datetime, time_zone: str, window: Window) -> Decision:
    """May a message go out at ``now`` to someone in ``time_zone``? If not, when next?

    The arithmetic is done on local wall-clock times with zoneinfo, so "08:00" stays 08:00
    local across a daylight-saving change (it moves by an hour in UTC).
    """
    tz = zone(time_zone)
    local = now.astimezone(tz)
    intervals = _open_intervals(window)
    if not window.weekdays:
        # No sending day at all: nothing is ever allowed; look again in a week.
        return Decision(False, now + dt.timedelta(days=7), "no sending days")
    if local.weekday() in window.weekdays and any(_is_open(local.time(), i) for i in intervals):
        return Decision(True, now)
    reason = "not a sending day" if local.weekday() not in window.weekdays else "quiet hours"
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        for start, _end in intervals:
            # A wall-clock time that falls into a spring-forward gap resolves to the real
            # moment after the gap (zoneinfo, fold=0), which is what a person would expect.
            candidate = dt.datetime.combine(day, start, tzinfo=tz).astimezone(dt.UTC)
            if candidate > now:
                return Decision(False, candidate, reason)
    return Decision(False, now + dt.timedelta(days=7), reason)


def window_for(*, quiet_start: dt.time, quiet_end: dt.time, weekdays: Sequence[int]) -> Window:
    """A :class:`Window` from a campaign's fields."""
    return Window(quiet_start, quiet_end, frozenset(weekdays))
