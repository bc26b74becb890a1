"""Decide what one reconciliation pass must do for one CounterSync. Pure: no I/O, no clock.

The operator is level-triggered: every tick it looks at the CounterSync and its Jobs as they are
now, and this module answers "which Job to create, which to delete, what to write in status".
Running the same plan twice is harmless (deterministic Job names, idempotent deletes).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from countersync import constants, jobspec, results, schedule
from countersync.spec import Parsed


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """What the operator keeps about a child Job (the job index stores these as dicts)."""
    name: str
    trigger: str = jobspec.TRIGGER_SCHEDULE
    scheduled_at: datetime.datetime | None = None
    created_at: datetime.datetime | None = None
    start_time: datetime.datetime | None = None
    completions: int = 1
    parallelism: int = 1
    active_deadline_seconds: int | None = None
    manual_token: str | None = None
    deleting: bool = False
    status: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def state(self) -> results.JobState:
        return results.job_state(self.status)

    @property
    def sort_key(self) -> tuple[datetime.datetime, str]:
        return (self.scheduled_at or self.created_at or datetime.datetime.min.replace(tzinfo=schedule.UTC), self.name)

    def as_index_value(self) -> dict[str, Any]:
        """The shape handed to results.summarize()."""
        return {
            "name": self.name,
            "trigger": self.trigger,
            "scheduled_at": self.scheduled_at,
            "created_at": self.created_at,
            "completions": self.completions,
            "parallelism": self.parallelism,
            "status": dict(self.status),
        }

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> JobInfo:
        meta = job.get("metadata") or {}
        ann = meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        return cls(
            name=str(meta.get("name")),
            trigger=str(labels.get(constants.LABEL_TRIGGER) or jobspec.TRIGGER_SCHEDULE),
            scheduled_at=schedule.parse_time(ann.get(constants.ANN_SCHEDULED_AT)),
            created_at=(schedule.parse_time(meta.get("creationTimestamp"))
                        or schedule.parse_time(ann.get(constants.ANN_CREATED_AT))),
            start_time=schedule.parse_time(status.get("startTime")),
            completions=int(spec.get("completions") or 1),
            parallelism=int(spec.get("parallelism") or 1),
            active_deadline_seconds=spec.get("activeDeadlineSeconds"),
            manual_token=ann.get(constants.ANN_MANUAL_TOKEN),
            deleting=bool(meta.get("deletionTimestamp")),
            status=dict(status),
        )


@dataclasses.dataclass(frozen=True)
class NewRun:
    name: str
    trigger: str
    scheduled_at: datetime.datetime
    manual_token: str | None = None


@dataclasses.dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str
    key: str = ""  # the same key is posted once per operator process (see the reconciler)


@dataclasses.dataclass
class Plan:
    create: NewRun | None = None
    delete: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (job name, why)
    aggregate: JobInfo | None = None  # the newest finished Job not yet in status.lastRun
    active: list[JobInfo] = dataclasses.field(default_factory=list)  # still running after this plan
    stuck: list[str] = dataclasses.field(default_factory=list)
    status: dict[str, Any] = dataclasses.field(default_factory=dict)  # fields this plan sets
    events: list[Event] = dataclasses.field(default_factory=list)


def plan(
        *,
        name: str,
        parsed: Parsed,
        status: Mapping[str, Any],
        annotations: Mapping[str, str],
        created: datetime.datetime,
        jobs: Iterable[JobInfo],
        now: datetime.datetime,
        stuck_grace_seconds: float,
) -> Plan:
    out = Plan()
    spec = parsed.spec
    all_jobs = sorted((j for j in jobs if not j.deleting), key=lambda j: j.sort_key)
    running = [j for j in all_jobs if not j.state.finished]
    finished = [j for j in all_jobs if j.state.finished]

    # 1. A Job still running long past its own deadline is stuck (a Job controller that never
    #    marked it, pods that never terminate...). Under Forbid it would block every later run,
    #    the classic CronJob trap, so it is deleted and reported instead.
    for job in running:
        started = job.start_time or job.created_at or job.scheduled_at
        deadline = job.active_deadline_seconds or (spec.job.active_deadline_seconds if spec else None)
        if started is not None and deadline is not None:
            overdue = (now - started).total_seconds() - deadline
            if overdue > stuck_grace_seconds:
                out.stuck.append(job.name)
                out.delete.append((job.name, "stuck"))
                out.events.append(Event("Warning", constants.REASON_STUCK_JOB,
                                        f"Job {job.name} still active {int(overdue)}s past activeDeadlineSeconds; deleting it",
                                        key=f"stuck/{job.name}"))
    running = [j for j in running if j.name not in out.stuck]

    # 2. The newest finished Job (or stuck one) becomes status.lastRun, once.
    last_run = status.get("lastRun") or {}
    last_key = (schedule.parse_time(last_run.get("scheduledTime")) or datetime.datetime.min.replace(tzinfo=schedule.UTC),
                str(last_run.get("job") or ""))
    stuck_jobs = [j for j in all_jobs if j.name in out.stuck]
    candidates = sorted(finished + stuck_jobs, key=lambda j: j.sort_key)
    if candidates and candidates[-1].sort_key > last_key and candidates[-1].name != last_run.get("job"):
        newest = candidates[-1]
        if newest.name in out.stuck:
            out.status["lastRun"] = {
                "job": newest.name,
                "trigger": newest.trigger,
                "scheduledTime": schedule.format_time(newest.scheduled_at),
                "startTime": schedule.format_time(newest.start_time or newest.created_at),
                "completionTime": schedule.format_time(now),
                "result": constants.RESULT_STUCK,
                "reason": constants.REASON_STUCK_JOB,
                "message": "deleted: still active past activeDeadlineSeconds",
                "failedIndexes": "",
                "shards": newest.completions,
                "shardsReported": 0,
                "parallelism": newest.parallelism,
                "checked": 0, "driftFound": 0, "repaired": 0,
            }
        else:
            out.aggregate = newest

    # 3. History limits, counted like CronJob's: by the Job's own Complete/Failed condition.
    if spec is not None:
        ok = [j for j in finished if j.state.succeeded]
        bad = [j for j in finished if not j.state.succeeded]
        for group, limit in ((ok, spec.successful_jobs_history_limit), (bad, spec.failed_jobs_history_limit)):
            excess = group[:max(0, len(group) - limit)]  # oldest first
            out.delete.extend((j.name, "history") for j in excess)

    # 4. A new run: a run-now request, or the schedule.
    if parsed.valid and spec is not None and parsed.schedule is not None:
        cursor = max(t for t in (
            created,
            schedule.parse_time(status.get("lastScheduleTime")),
            schedule.parse_time(status.get("lastSkippedTime")),
        ) if t is not None)
        token = annotations.get(constants.ANN_RUN_NOW)
        manual_pending = bool(token) and token != status.get("lastRunNowToken")
        due = schedule.due(parsed.schedule, cursor=cursor, now=now,
                           starting_deadline_seconds=spec.starting_deadline_seconds)

        candidates: list[tuple[NewRun, Event | None]] = []
        if manual_pending:
            assert token is not None
            candidates.append((NewRun(jobspec.manual_job_name(name, token), jobspec.TRIGGER_MANUAL, now,
                                      manual_token=token), None))
        if due.slot is not None and spec.suspend:
            out.status["lastSkippedTime"] = schedule.format_time(due.slot)  # consumed, not owed later
        elif due.slot is not None and due.too_late:
            out.status["lastSkippedTime"] = schedule.format_time(due.slot)
            out.events.append(Event(
                "Warning", "MissedSchedule",
                f"missed {due.missed} run(s); the latest, {schedule.format_time(due.slot)}, is more than "
                f"startingDeadlineSeconds={spec.starting_deadline_seconds} old, so it is skipped",
                key=f"missed/{schedule.format_time(due.slot)}"))
        elif due.slot is not None:
            note = None
            if due.missed > 1:
                note = Event("Normal", "CatchUp",
                             f"{due.missed} scheduled runs were missed; running once for {schedule.format_time(due.slot)}",
                             key=f"catchup/{schedule.format_time(due.slot)}")
            candidates.append((NewRun(jobspec.scheduled_job_name(name, due.slot), jobspec.TRIGGER_SCHEDULE,
                                      due.slot), note))

        for wanted, note in candidates:
            if any(j.name == wanted.name for j in all_jobs):
                # Already created (a retried tick, or a status write that did not land): record it.
                _record(out, wanted)
                continue
            if out.create is not None:
                break  # one new run per pass; the next pass applies the concurrency policy to the rest
            if running and spec.concurrency_policy == "Forbid":
                names = ", ".join(j.name for j in running)
                if wanted.trigger == jobspec.TRIGGER_SCHEDULE:
                    out.status["lastSkippedTime"] = schedule.format_time(wanted.scheduled_at)
                    out.events.append(Event(
                        "Normal", "RunSkipped",
                        f"run for {schedule.format_time(wanted.scheduled_at)} skipped: {names} still active "
                        "(concurrencyPolicy Forbid)", key=f"skip/{wanted.name}"))
                else:
                    out.events.append(Event(
                        "Normal", "RunNowWaiting",
                        f"run-now request waits for {names} to finish (concurrencyPolicy Forbid)",
                        key=f"wait/{wanted.name}"))
                continue
            if running and spec.concurrency_policy == "Replace":
                out.delete.extend((job.name, "replaced") for job in running)
                out.events.append(Event("Normal", "RunReplaced",
                                        f"replacing {', '.join(j.name for j in running)} with {wanted.name}",
                                        key=f"replace/{wanted.name}"))
                running = []
            out.create = wanted
            _record(out, wanted)
            if note is not None:
                out.events.append(note)

        if not spec.suspend:
            out.status["nextScheduleTime"] = schedule.format_time(parsed.schedule.next_after(now))
        else:
            out.status["nextScheduleTime"] = None
    else:
        out.status["nextScheduleTime"] = None

    deleted = {n for n, _ in out.delete}
    out.active = [j for j in running if j.name not in deleted]
    return out


def _record(out: Plan, run: NewRun) -> None:
    if run.trigger == jobspec.TRIGGER_MANUAL:
        out.status["lastRunNowToken"] = run.manual_token
    else:
        out.status["lastScheduleTime"] = schedule.format_time(run.scheduled_at)


def merge_jobs(indexed: Iterable[JobInfo], pending: Sequence[JobInfo], gone: Iterable[str]) -> list[JobInfo]:
    """Jobs as the operator should see them: the index, plus Jobs just created that the watch has
    not delivered yet, minus Jobs just deleted that it still shows."""
    gone_set = set(gone)
    seen: dict[str, JobInfo] = {j.name: j for j in indexed if j.name not in gone_set}
    for job in pending:
        if job.name not in seen and job.name not in gone_set:
            seen[job.name] = job
    return list(seen.values())
