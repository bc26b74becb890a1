"""Schedule math against a frozen clock: no sleeping, no wall time."""

from __future__ import annotations

import datetime

import pytest

from countersync import schedule

UTC = datetime.timezone.utc


def t(day: int, hh: int, mm: int, ss: int = 0, month: int = 1) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hh, mm, ss, tzinfo=UTC)


@pytest.mark.parametrize("expression, message", [
    ("", "empty"),
    ("* * *", "5 fields"),
    ("* * * * * *", "5 fields"),
    ("61 * * * *", "not a valid cron"),
    ("0 0 31 2 *", "not a valid cron"),
    ("TZ=Europe/Berlin 0 * * * *", "spec.timeZone"),
    ("@fortnightly", "unknown schedule macro"),
])
def test_invalid_schedules_say_why(expression, message):
    with pytest.raises(schedule.ScheduleError, match=message):
        schedule.parse(expression)


def test_unknown_time_zone():
    with pytest.raises(schedule.ScheduleError, match="unknown time zone"):
        schedule.parse("0 * * * *", "Mars/Olympus")


def test_macros_expand():
    assert schedule.parse("@hourly").expression == "0 * * * *"
    assert schedule.parse("@daily").expression == "0 0 * * *"


def test_latest_slot_is_inclusive_and_next_slot_exclusive():
    s = schedule.parse("*/5 * * * *")
    assert s.latest_at_or_before(t(1, 12, 5)) == t(1, 12, 5)
    assert s.latest_at_or_before(t(1, 12, 9, 59)) == t(1, 12, 5)
    assert s.next_after(t(1, 12, 5)) == t(1, 12, 10)
    assert s.next_after(t(1, 12, 4, 59)) == t(1, 12, 5)


def test_nothing_due_before_the_first_slot():
    s = schedule.parse("*/5 * * * *")
    assert schedule.due(s, cursor=t(1, 12, 3), now=t(1, 12, 4, 59), starting_deadline_seconds=None).slot is None


def test_due_slot_on_time():
    s = schedule.parse("*/5 * * * *")
    due = schedule.due(s, cursor=t(1, 12, 3), now=t(1, 12, 5, 2), starting_deadline_seconds=None)
    assert due == schedule.Due(slot=t(1, 12, 5), missed=1, too_late=False)


def test_a_handled_slot_is_not_due_again():
    s = schedule.parse("*/5 * * * *")
    assert schedule.due(s, cursor=t(1, 12, 5), now=t(1, 12, 9), starting_deadline_seconds=None).slot is None


def test_after_downtime_only_the_latest_slot_is_due_once():
    s = schedule.parse("*/5 * * * *")
    due = schedule.due(s, cursor=t(1, 12, 5), now=t(1, 12, 31), starting_deadline_seconds=None)
    assert due.slot == t(1, 12, 30) and due.missed == 5 and not due.too_late


def test_starting_deadline_turns_a_late_slot_into_a_skip():
    s = schedule.parse("*/5 * * * *")
    due = schedule.due(s, cursor=t(1, 12, 5), now=t(1, 12, 33), starting_deadline_seconds=120)
    assert due.slot == t(1, 12, 30) and due.too_late
    due = schedule.due(s, cursor=t(1, 12, 5), now=t(1, 12, 31), starting_deadline_seconds=120)
    assert not due.too_late


def test_missed_counting_is_bounded():
    s = schedule.parse("* * * * *")
    due = schedule.due(s, cursor=t(1, 0, 0), now=t(20, 0, 0), starting_deadline_seconds=None)
    assert due.missed == schedule.MAX_COUNTED_MISSED


def test_time_zone_and_daylight_saving():
    # 02:30 does not exist in Berlin on 2026-03-29: cron semantics run it at 03:00 local (01:00Z).
    s = schedule.parse("30 2 * * *", "Europe/Berlin")
    assert s.next_after(t(28, 12, 0, month=3)) == t(29, 1, 0, month=3)
    assert s.next_after(t(29, 12, 0, month=3)) == t(30, 0, 30, month=3)  # CEST: UTC+2
    assert schedule.parse("0 9 * * *", "America/New_York").next_after(t(1, 0, 0)) == t(1, 14, 0)


def test_time_formatting_round_trip():
    moment = datetime.datetime(2026, 1, 1, 12, 5, 7, 123456, tzinfo=UTC)
    text = schedule.format_time(moment)
    assert text == "2026-01-01T12:05:07Z"
    assert schedule.parse_time(text) == moment.replace(microsecond=0)
    assert schedule.parse_time("2026-01-01T13:05:07+01:00") == moment.replace(microsecond=0)
    assert schedule.parse_time("garbage") is None and schedule.parse_time(None) is None


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        schedule.parse("* * * * *").next_after(datetime.datetime(2026, 1, 1))
