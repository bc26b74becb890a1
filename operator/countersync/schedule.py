"""Schedule math: cron expressions in a time zone, evaluated against an explicit clock.

Pure functions only. kopf has no cron, and Kubernetes' CronJob rules are the model here, minus
the behaviours its users trip over:

* after downtime at most ONE catch-up run happens (the latest missed slot), never a burst, and
  never the "too many missed start times" dead end;
* ``startingDeadlineSeconds`` bounds how late that one catch-up may start;
* slots that pass while suspended are consumed, so resuming does not fire a surprise run.

All datetimes going in and out are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

UTC = datetime.timezone.utc

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# Counting missed slots is informational; stop counting somewhere sane for "* * * * *" after a week.
MAX_COUNTED_MISSED = 1000


class ScheduleError(ValueError):
    """The schedule or time zone cannot be used. The message is shown to the user as is."""


@dataclasses.dataclass(frozen=True)
class Schedule:
    expression: str  # the five-field form, macros expanded
    tz: ZoneInfo

    def latest_at_or_before(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The latest slot at or before ``moment`` (whole seconds), or None if there is none."""
        local = _to_local(moment, self.tz).replace(microsecond=0) + datetime.timedelta(seconds=1)
        try:
            slot = next(CronSim(self.expression, local, reverse=True))
        except StopIteration:
            return None
        return slot.astimezone(UTC)

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first slot strictly after ``moment``."""
        local = _to_local(moment, self.tz)
        try:
            slot = next(CronSim(self.expression, local))
        except StopIteration:
            return None
        return slot.astimezone(UTC)

    def count_between(self, after: datetime.datetime, upto: datetime.datetime) -> int:
        """How many slots fall in (after, upto]; capped at MAX_COUNTED_MISSED."""
        count = 0
        for slot in CronSim(self.expression, _to_local(after, self.tz)):
            if slot.astimezone(UTC) > upto or count >= MAX_COUNTED_MISSED:
                break
            count += 1
        return count


def parse(expression: str | None, time_zone: str | None = "UTC") -> Schedule:
    """Validate and compile a schedule; raise ScheduleError with a message fit for a condition."""
    if not expression or not expression.strip():
        raise ScheduleError("spec.schedule is empty")
    text = " ".join(expression.split())
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("put the time zone in spec.timeZone, not in spec.schedule")
    text = MACROS.get(text.lower(), text)
    if text.startswith("@"):
        raise ScheduleError(f"unknown schedule macro {expression!r}; use one of {', '.join(sorted(MACROS))}")
    fields = text.split(" ")
    if len(fields) != 5:
        raise ScheduleError(f"schedule {expression!r} must have 5 fields (minute hour day month weekday), got {len(fields)}")
    tz = parse_time_zone(time_zone)
    try:
        CronSim(text, datetime.datetime(2000, 1, 1, tzinfo=tz))
    except CronSimError as e:
        raise ScheduleError(f"schedule {expression!r} is not a valid cron expression: {e}") from None
    schedule = Schedule(text, tz)
    # A syntactically valid expression can still never fire (e.g. "0 0 30 2 *"); say so up front.
    if schedule.next_after(datetime.datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise ScheduleError(f"schedule {expression!r} never fires")
    return schedule


def parse_time_zone(name: str | None) -> ZoneInfo:
    name = name or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"unknown time zone {name!r} in spec.timeZone (use an IANA name like Europe/Berlin)") from None


@dataclasses.dataclass(frozen=True)
class Due:
    """What the schedule says should happen now."""
    slot: datetime.datetime | None  # the slot to act on (run or skip); None when nothing is due
    missed: int = 0  # slots in (cursor, slot] including this one; >1 means runs were missed
    too_late: bool = False  # the slot is older than startingDeadlineSeconds: skip it, do not run


def due(
        schedule: Schedule,
        *,
        cursor: datetime.datetime,
        now: datetime.datetime,
        starting_deadline_seconds: int | None,
) -> Due:
    """Decide whether a slot is due.

    ``cursor`` is the latest moment already dealt with: the last slot run or skipped, or the
    resource's creation time. Only the latest slot in (cursor, now] matters: if several were
    missed (operator down, API unreachable), one run stands for all of them.
    """
    latest = schedule.latest_at_or_before(now)
    if latest is None or latest <= cursor:
        return Due(slot=None)
    missed = max(1, schedule.count_between(cursor, latest))
    late = (now - latest).total_seconds()
    too_late = starting_deadline_seconds is not None and late > starting_deadline_seconds
    return Due(slot=latest, missed=missed, too_late=too_late)


def _to_local(moment: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; pass UTC-aware ones")
    return moment.astimezone(tz)


def format_time(moment: datetime.datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, second precision: what Kubernetes writes in status fields."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime.datetime | None:
    """Parse an RFC 3339 timestamp from Kubernetes; None for anything unusable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
