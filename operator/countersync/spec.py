"""The CounterSync spec as the operator understands it: parsed, defaulted, checked. Pure.

The CRD's structural schema applies the same defaults on the API server; they are repeated here
so the operator behaves identically against an API server that does not default (and a test keeps
the two lists equal). Problems are collected, not raised: an invalid spec becomes a Degraded
condition on the resource, never a crash loop of the operator.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from countersync import constants, schedule, sizing

CONCURRENCY_POLICIES = ("Forbid", "Replace", "Allow")
MODES = ("Verify", "Repair")
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# The defaults, mirrored in charts/unread-counters/crds/countersync.yaml (tests compare them).
DEFAULTS: dict[str, Any] = {
    "timeZone": "UTC",
    "suspend": False,
    "concurrencyPolicy": "Forbid",
    "successfulJobsHistoryLimit": 3,
    "failedJobsHistoryLimit": 1,
    "mode": "Verify",
    "full": False,
    "job": {
        "shards": 1,
        "activeDeadlineSeconds": 3600,
        "backoffLimitPerIndex": 2,
    },
    "scaling": {
        "minParallelism": 1,
        "maxParallelism": 10,
        "pairsPerWorker": 10000,
    },
}


@dataclasses.dataclass(frozen=True)
class JobSettings:
    shards: int = 1
    active_deadline_seconds: int = 3600
    backoff_limit_per_index: int = 2
    resources: Mapping[str, Any] | None = None
    image: str | None = None


@dataclasses.dataclass(frozen=True)
class CounterSyncSpec:
    schedule: str
    time_zone: str = "UTC"
    suspend: bool = False
    concurrency_policy: str = "Forbid"
    starting_deadline_seconds: int | None = None
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 1
    ttl_seconds_after_finished: int | None = None
    mode: str = "Verify"
    max_repairs_per_run: int | None = None
    full: bool = False
    job: JobSettings = dataclasses.field(default_factory=JobSettings)
    scaling: sizing.Scaling = dataclasses.field(default_factory=sizing.Scaling)

    def max_repairs_per_shard(self) -> int | None:
        """The CLI caps repairs per process; split the per-run cap evenly (rounding up)."""
        if self.max_repairs_per_run is None:
            return None
        return max(1, -(-self.max_repairs_per_run // self.job.shards))


@dataclasses.dataclass(frozen=True)
class Parsed:
    spec: CounterSyncSpec | None
    schedule: schedule.Schedule | None
    schedule_problem: str | None  # -> reason InvalidSchedule
    problems: tuple[str, ...]  # everything else -> reason InvalidSpec

    @property
    def valid(self) -> bool:
        return self.spec is not None and self.schedule is not None and not self.problems and not self.schedule_problem


def parse(raw: Mapping[str, Any] | None, *, name: str = "") -> Parsed:
    raw = dict(raw or {})
    problems: list[str] = []
    if name and (len(name) > constants.MAX_COUNTERSYNC_NAME or not NAME_RE.match(name)):
        problems.append(
            f"metadata.name must be a DNS label of at most {constants.MAX_COUNTERSYNC_NAME} characters "
            "(it prefixes Job and pod names)")

    job_raw = _merged(DEFAULTS["job"], raw.get("job"))
    scaling_raw = _merged(DEFAULTS["scaling"], raw.get("scaling"))
    try:
        job = JobSettings(
            shards=_int(job_raw, "shards", minimum=1, problems=problems, path="job."),
            active_deadline_seconds=_int(job_raw, "activeDeadlineSeconds", minimum=1, problems=problems, path="job."),
            backoff_limit_per_index=_int(job_raw, "backoffLimitPerIndex", minimum=0, problems=problems, path="job."),
            resources=job_raw.get("resources") or None,
            image=job_raw.get("image") or None,
        )
        scaling = sizing.Scaling(
            min_parallelism=_int(scaling_raw, "minParallelism", minimum=1, problems=problems, path="scaling."),
            max_parallelism=_int(scaling_raw, "maxParallelism", minimum=1, problems=problems, path="scaling."),
            pairs_per_worker=_int(scaling_raw, "pairsPerWorker", minimum=1, problems=problems, path="scaling."),
        )
        problems.extend(p for p in scaling.problems() if p not in problems)
        policy = str(raw.get("concurrencyPolicy", DEFAULTS["concurrencyPolicy"]))
        if policy not in CONCURRENCY_POLICIES:
            problems.append(f"concurrencyPolicy must be one of {', '.join(CONCURRENCY_POLICIES)}, got {policy!r}")
        mode = str(raw.get("mode", DEFAULTS["mode"]))
        if mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        spec = CounterSyncSpec(
            schedule=str(raw.get("schedule") or ""),
            time_zone=str(raw.get("timeZone") or DEFAULTS["timeZone"]),
            suspend=bool(raw.get("suspend", DEFAULTS["suspend"])),
            concurrency_policy=policy,
            starting_deadline_seconds=_opt_int(raw, "startingDeadlineSeconds", minimum=0, problems=problems),
            successful_jobs_history_limit=_int(raw, "successfulJobsHistoryLimit", minimum=0, problems=problems,
                                               default=DEFAULTS["successfulJobsHistoryLimit"]),
            failed_jobs_history_limit=_int(raw, "failedJobsHistoryLimit", minimum=0, problems=problems,
                                           default=DEFAULTS["failedJobsHistoryLimit"]),
            ttl_seconds_after_finished=_opt_int(raw, "ttlSecondsAfterFinished", minimum=0, problems=problems),
            mode=mode,
            max_repairs_per_run=_opt_int(raw, "maxRepairsPerRun", minimum=1, problems=problems),
            full=bool(raw.get("full", DEFAULTS["full"])),
            job=job,
            scaling=scaling,
        )
    except (TypeError, ValueError) as e:  # the API server's schema normally prevents this
        return Parsed(spec=None, schedule=None, schedule_problem=None, problems=tuple(problems + [str(e)]))

    compiled: schedule.Schedule | None = None
    schedule_problem: str | None = None
    try:
        compiled = schedule.parse(spec.schedule, spec.time_zone)
    except schedule.ScheduleError as e:
        schedule_problem = str(e)
    return Parsed(spec=spec, schedule=compiled, schedule_problem=schedule_problem, problems=tuple(problems))


def _merged(defaults: Mapping[str, Any], given: Any) -> dict[str, Any]:
    out = dict(defaults)
    if isinstance(given, Mapping):
        out.update({k: v for k, v in given.items() if v is not None})
    return out


def _int(raw: Mapping[str, Any], key: str, *, minimum: int, problems: list[str],
         path: str = "", default: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{path}{key} must be an integer, got {value!r}")
        return minimum
    if value < minimum:
        problems.append(f"{path}{key} must be at least {minimum}, got {value}")
        return minimum
    return value


def _opt_int(raw: Mapping[str, Any], key: str, *, minimum: int, problems: list[str]) -> int | None:
    if raw.get(key) is None:
        return None
    return _int(raw, key, minimum=minimum, problems=problems)
