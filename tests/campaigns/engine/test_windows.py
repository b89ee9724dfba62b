"""Quiet hours, sending days and buckets: pure functions of ``now`` and a time zone."""

from __future__ import annotations

import datetime as dt

from campaigns.engine.windows import Window, decide

OFFICE = Window(dt.time(20), dt.time(8), frozenset({0, 1, 2, 3, 4}))


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def test_working_hours_on_a_weekday_are_allowed() -> None:
    now = utc(2026, 12, 1, 9)  # Tuesday 09:00 in London
    assert decide(now=now, time_zone="Europe/London", window=OFFICE).allowed


def test_tokyo_evening_waits_until_8_the_next_morning() -> None:
    decision = decide(now=utc(2026, 12, 1, 12), time_zone="Asia/Tokyo", window=OFFICE)
    assert (decision.allowed, decision.reason) == (False, "quiet hours")
    assert decision.next_allowed == utc(2026, 12, 1, 23)  # Wednesday 08:00 JST


def test_early_morning_waits_for_the_end_of_the_same_night() -> None:
    decision = decide(now=utc(2026, 12, 2, 5), time_zone="Europe/Berlin", window=OFFICE)
    assert decision.next_allowed == utc(2026, 12, 2, 7)  # 08:00 CET


def test_new_york_friday_night_waits_for_monday_across_the_fall_dst_change() -> None:
    # Friday 23:00 EDT; clocks go back on Sunday 1 November 2026.
    decision = decide(now=utc(2026, 10, 31, 3), time_zone="America/New_York", window=OFFICE)
    assert decision.next_allowed == utc(2026, 11, 2, 13)  # Monday 08:00 EST


def test_new_york_across_the_spring_dst_change() -> None:
    # Saturday 7 March 2026, 12:00 EST; clocks go forward on Sunday 8 March.
    decision = decide(now=utc(2026, 3, 7, 17), time_zone="America/New_York", window=OFFICE)
    assert (decision.reason, decision.next_allowed) == ("not a sending day", utc(2026, 3, 9, 12))


def test_a_quiet_window_inside_the_day() -> None:
    lunch = Window(dt.time(12), dt.time(13), frozenset(range(7)))
    assert decide(now=utc(2026, 12, 1, 11, 59), time_zone="UTC", window=lunch).allowed
    decision = decide(now=utc(2026, 12, 1, 12, 30), time_zone="UTC", window=lunch)
    assert decision.next_allowed == utc(2026, 12, 1, 13)
    assert decide(now=utc(2026, 12, 1, 13), time_zone="UTC", window=lunch).allowed


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    always = Window(dt.time(0), dt.time(0), frozenset(range(7)))
    assert decide(now=utc(2026, 12, 1, 3), time_zone="UTC", window=always).allowed


def test_an_unknown_time_zone_is_treated_as_utc() -> None:
    decision = decide(now=utc(2026, 12, 1, 21), time_zone="Mars/Olympus", window=OFFICE)
    assert decision.next_allowed == utc(2026, 12, 2, 8)


def test_no_sending_days_postpones_by_a_week_rather_than_failing() -> None:
    never = Window(dt.time(20), dt.time(8), frozenset())
    decision = decide(now=utc(2026, 12, 1, 9), time_zone="UTC", window=never)
    assert not decision.allowed and decision.next_allowed == utc(2026, 12, 8, 9)
