"""Status conditions in the Kubernetes convention. Pure.

``lastTransitionTime`` moves only when ``status`` flips, so watching clients and ``kubectl wait``
see real transitions, and an unchanged condition never causes a status patch.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from countersync import constants, schedule

ORDER = (constants.COND_READY, constants.COND_RUNNING, constants.COND_SUSPENDED,
         constants.COND_DEGRADED, constants.COND_BACKLOG)


@dataclasses.dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str = ""


def merge(
        existing: Sequence[Mapping[str, Any]] | None,
        desired: Iterable[Condition],
        *,
        now: datetime.datetime,
        generation: int | None = None,
) -> list[dict[str, Any]]:
    """The new conditions list: desired ones replace same-typed old ones; others are kept."""
    old = {c.get("type"): dict(c) for c in (existing or []) if isinstance(c, Mapping) and c.get("type")}
    new: dict[str, dict[str, Any]] = dict(old)
    for cond in desired:
        status = "True" if cond.status else "False"
        previous = old.get(cond.type)
        changed = previous is None or previous.get("status") != status
        entry: dict[str, Any] = {
            "type": cond.type,
            "status": status,
            "reason": cond.reason,
            "message": cond.message[:1000],
            "lastTransitionTime": (schedule.format_time(now) if changed
                                   else previous.get("lastTransitionTime") or schedule.format_time(now)),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        new[cond.type] = entry
    ordered = [new[t] for t in ORDER if t in new] + [v for k, v in new.items() if k not in ORDER]
    return ordered


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    for cond in conditions or []:
        if cond.get("type") == type_:
            return cond
    return None


def is_true(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> bool:
    cond = find(conditions, type_)
    return bool(cond and cond.get("status") == "True")


def degraded(
        *,
        schedule_problem: str | None,
        spec_problems: Sequence[str],
        stuck: Sequence[str],
        last_result: str | None,
        last_message: str | None,
        last_job: str | None,
) -> Condition:
    """Degraded says what needs a human, most fundamental cause first."""
    if schedule_problem:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_INVALID_SCHEDULE, schedule_problem)
    if spec_problems:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_INVALID_SPEC, "; ".join(spec_problems))
    if stuck:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_STUCK_JOB,
                         f"deleted Job(s) {', '.join(stuck)}: still active past activeDeadlineSeconds")
    if last_result == constants.RESULT_STUCK:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_STUCK_JOB,
                         f"Job {last_job} was stuck past its deadline and was deleted")
    if last_result == constants.RESULT_FAILED:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_JOB_FAILED,
                         f"Job {last_job} failed" + (f": {last_message}" if last_message else ""))
    if last_result == constants.RESULT_PARTIAL_FAILURE:
        return Condition(constants.COND_DEGRADED, True, constants.REASON_PARTIAL_FAILURE,
                         f"Job {last_job}: some shards failed" + (f": {last_message}" if last_message else ""))
    return Condition(constants.COND_DEGRADED, False, "AsExpected", "")
