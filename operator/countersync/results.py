"""What a finished run did, read from its Job and its pods' termination messages. Pure.

Each reconcile pod ends with a JSON summary in its termination message
(``{"checked","drifted","repaired","duration_s","shard","shards","mode","full"}``) and an exit
code: 0 clean or all repaired, 3 drift left unrepaired, anything else a failure. The run's result
is read per index (shard), taking each index's final pod:

* ``Succeeded``      every shard exited 0 (drift, if any, was repaired);
* ``DriftFound``     every shard finished, some with exit 3: drift is there and was not (all) fixed;
* ``PartialFailure`` some shards failed for real, others finished;
* ``Failed``         no shard finished (crashes, deadline exceeded, ...).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping
from typing import Any

from countersync import constants, schedule

SUMMARY_KEYS = ("checked", "drifted", "repaired")


def parse_summary(message: object) -> dict[str, Any] | None:
    """The JSON summary from a termination message, or None.

    With FallbackToLogsOnError the message may be a log tail; the summary is then its last line
    that parses as a JSON object with the summary keys.
    """
    if not isinstance(message, str) or not message.strip():
        return None
    candidates = [message.strip()] + [line.strip() for line in reversed(message.strip().splitlines())]
    for text in candidates:
        if not text.startswith("{"):
            continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool)
                                          for k in SUMMARY_KEYS):
            return data
    return None


def parse_index_set(text: object) -> set[int]:
    """Parse the Job API's compressed index lists like "1,3-5"."""
    out: set[int] = set()
    if not isinstance(text, str):
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.update(range(int(lo), int(hi) + 1))
            else:
                out.add(int(part))
        except ValueError:
            continue
    return out


def format_index_set(indexes: Iterable[int]) -> str:
    """The same compressed form: [0, 1, 2, 5] -> "0-2,5"."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


@dataclasses.dataclass(frozen=True)
class JobState:
    finished: bool
    succeeded: bool
    reason: str | None = None
    message: str | None = None
    finished_at: datetime.datetime | None = None


def job_state(status: Mapping[str, Any] | None) -> JobState:
    """Finished means the Job controller set Complete or Failed (not the interim *Target ones)."""
    status = status or {}
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") in ("Complete", "Failed"):
            ok = cond["type"] == "Complete"
            at = schedule.parse_time(status.get("completionTime")) if ok else None
            at = at or schedule.parse_time(cond.get("lastTransitionTime"))
            return JobState(finished=True, succeeded=ok, reason=cond.get("reason"),
                            message=cond.get("message"), finished_at=at)
    return JobState(finished=False, succeeded=False)


@dataclasses.dataclass(frozen=True)
class IndexOutcome:
    index: int
    exit_code: int | None
    summary: dict[str, Any] | None
    message: str | None


def _pod_index(pod: Mapping[str, Any]) -> int | None:
    meta = pod.get("metadata") or {}
    for source in (meta.get("annotations") or {}, meta.get("labels") or {}):
        value = source.get(constants.POD_INDEX_KEY)
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def _terminated(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    chosen = [s for s in statuses if s.get("name") == constants.CONTAINER] or statuses[:1]
    for status in chosen:
        state = (status.get("state") or {}).get("terminated")
        if state:
            return state
        last = (status.get("lastState") or {}).get("terminated")
        if last:
            return last
    return None


def final_outcomes(pods: Iterable[Mapping[str, Any]]) -> dict[int, IndexOutcome]:
    """One outcome per index: a successful pod wins, else the most recently finished one."""
    best: dict[int, tuple[tuple[int, str, str], IndexOutcome]] = {}
    for pod in pods:
        index = _pod_index(pod)
        term = _terminated(pod)
        if index is None or term is None:
            continue
        code = term.get("exitCode")
        code = int(code) if isinstance(code, int) else None
        message = term.get("message")
        outcome = IndexOutcome(index=index, exit_code=code, summary=parse_summary(message),
                               message=message if isinstance(message, str) else None)
        rank = (1 if code == 0 else 0, str(term.get("finishedAt") or ""),
                str((pod.get("metadata") or {}).get("creationTimestamp") or ""))
        if index not in best or rank > best[index][0]:
            best[index] = (rank, outcome)
    return {index: outcome for index, (_, outcome) in best.items()}


def summarize(
        job: Mapping[str, Any],
        pods: Iterable[Mapping[str, Any]],
        *,
        now: datetime.datetime,
) -> dict[str, Any]:
    """Build ``status.lastRun`` for a finished Job (``job`` as stored in the job index)."""
    status = job.get("status") or {}
    state = job_state(status)
    shards = int(job.get("completions") or 1)
    outcomes = final_outcomes(pods)

    failed = parse_index_set(status.get("failedIndexes"))
    ok = parse_index_set(status.get("completedIndexes"))
    for outcome in outcomes.values():
        if outcome.exit_code == 0:
            ok.add(outcome.index)
        elif outcome.index not in ok:
            failed.add(outcome.index)
    failed -= ok
    drift = {i for i in failed if outcomes.get(i) is not None and outcomes[i].exit_code == constants.EXIT_DRIFT}
    unfinished = shards - len(ok) - len(drift)  # crashed, killed by the deadline, or never started

    if state.succeeded:
        result = constants.RESULT_SUCCEEDED
    elif unfinished <= 0 and drift:
        result = constants.RESULT_DRIFT_FOUND
    elif ok or drift:
        result = constants.RESULT_PARTIAL_FAILURE
    else:
        result = constants.RESULT_FAILED

    summaries = [o.summary for o in outcomes.values() if o.summary]
    last_run: dict[str, Any] = {
        "job": job.get("name"),
        "trigger": job.get("trigger"),
        "scheduledTime": schedule.format_time(job.get("scheduled_at")),
        "startTime": status.get("startTime") or schedule.format_time(job.get("created_at")),
        "completionTime": schedule.format_time(state.finished_at or now),
        "result": result,
        "reason": state.reason or "",
        "failedIndexes": format_index_set(failed),
        "shards": shards,
        "shardsReported": len(summaries),
        "parallelism": int(job.get("parallelism") or 0),
        "checked": sum(int(s["checked"]) for s in summaries),
        "driftFound": sum(int(s["drifted"]) for s in summaries),
        "repaired": sum(int(s["repaired"]) for s in summaries),
    }
    message = _failure_message(state, outcomes, failed)
    if message:
        last_run["message"] = message
    return last_run


def _failure_message(state: JobState, outcomes: Mapping[int, IndexOutcome], failed: set[int]) -> str:
    """A short human hint: the Job's own reason, or the first failing shard's log tail."""
    if state.succeeded:
        return ""
    for index in sorted(failed):
        outcome = outcomes.get(index)
        if outcome and outcome.exit_code != constants.EXIT_DRIFT and outcome.message and not outcome.summary:
            tail = outcome.message.strip().splitlines()[-1:] or [""]
            return f"shard {index} exited {outcome.exit_code}: {tail[0][:200]}"
    return (state.message or "")[:300]
