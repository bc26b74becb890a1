"""One reconciliation pass for one CounterSync: carry out the plan, compute the status patch.

The decisions live in ``planning``; this module does the I/O they need (measure the backlog,
create and delete Jobs, read pods' termination messages) and turns the outcome into status.
Kubernetes access and event posting come in as arguments, so the pass runs the same under kopf
in a cluster and under kopf against an emulated API in tests.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from countersync import backlog, conditions, constants, jobspec, kube, planning, results, schedule, sizing
from countersync import spec as spec_module
from countersync.config import Config

# Status fields the planner reads back. Kept in memory too, because the watch may not have
# delivered the previous pass's status patch yet when the next pass starts.
DECISION_FIELDS = ("lastScheduleTime", "lastSkippedTime", "lastRunNowToken", "lastRun")


@dataclasses.dataclass
class ObjectState:
    """Per-CounterSync memory of one operator process (kept in kopf's per-object memo)."""
    first_seen: datetime.datetime | None = None
    pending: dict[str, tuple[planning.JobInfo, float]] = dataclasses.field(default_factory=dict)
    gone: dict[str, float] = dataclasses.field(default_factory=dict)
    posted: set[str] = dataclasses.field(default_factory=set)
    written: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Deps:
    kube: kube.Kube
    config: Config
    post_event: Callable[[str, str, str], None]  # (type, reason, message)
    adopt: Callable[[dict[str, Any]], None]  # sets the owner reference (kopf.adopt)
    measure: Callable[[int], Awaitable[sizing.Backlog]] | None = None
    logger: logging.Logger = logging.getLogger("countersync")


async def reconcile(
        *,
        body: Mapping[str, Any],
        indexed_jobs: Iterable[planning.JobInfo],
        state: ObjectState,
        deps: Deps,
) -> dict[str, Any]:
    """Run one pass; return the status patch (only the fields that change)."""
    cfg = deps.config
    now = cfg.clock()
    meta = body.get("metadata") or {}
    name = str(meta.get("name"))
    namespace = str(meta.get("namespace"))
    current_status: dict[str, Any] = dict(body.get("status") or {})
    status = {**current_status, **state.written}
    parsed = spec_module.parse(body.get("spec"), name=name)

    if state.first_seen is None:
        state.first_seen = now
    created = schedule.parse_time(meta.get("creationTimestamp")) or state.first_seen

    indexed = list(indexed_jobs)
    jobs = planning.merge_jobs(indexed, _pending(state, indexed, cfg), _gone(state, indexed))
    plan = planning.plan(
        name=name, parsed=parsed, status=status, annotations=meta.get("annotations") or {},
        created=created, jobs=jobs, now=now, stuck_grace_seconds=cfg.stuck_grace_seconds,
    )
    desired: dict[str, Any] = dict(plan.status)
    active = list(plan.active)

    # The result of the newest finished run, read before history cleanup may delete its pods.
    last_run = plan.status.get("lastRun")
    if plan.aggregate is not None:
        pods = await _job_pods(deps.kube, namespace, plan.aggregate.name)
        last_run = results.summarize(plan.aggregate.as_index_value(), pods, now=now)
        desired["lastRun"] = last_run
        _announce_result(state, deps, last_run)
    if last_run and last_run.get("result") in (constants.RESULT_SUCCEEDED, constants.RESULT_DRIFT_FOUND):
        desired["lastSuccessfulTime"] = last_run.get("completionTime")

    for job_name, why in plan.delete:
        await deps.kube.delete(kube.jobs_path(namespace, job_name))
        state.gone[job_name] = time.monotonic()
        state.pending.pop(job_name, None)
        deps.logger.info("deleted Job %s (%s)", job_name, why)

    backlog_condition: conditions.Condition | None = None
    create_error: str | None = None
    if plan.create is not None and parsed.spec is not None:
        created_job, backlog_condition, create_error = await _create_run(
            plan.create, parsed.spec, name=name, namespace=namespace, now=now, deps=deps, state=state)
        if created_job is not None:
            active.append(created_job)
        elif create_error is not None:
            # The API server refused the Job (e.g. invalid resources): retrying will not help,
            # so this slot or request is consumed and the problem reported.
            if plan.create.trigger == jobspec.TRIGGER_SCHEDULE:
                desired.pop("lastScheduleTime", None)
                desired["lastSkippedTime"] = schedule.format_time(plan.create.scheduled_at)

    for event in plan.events:
        _post_once(state, deps, event.type, event.reason, event.message, event.key or event.message)

    # Status that describes the situation after this pass.
    desired["active"] = [
        {"name": j.name, "trigger": j.trigger, "scheduledTime": schedule.format_time(j.scheduled_at),
         "parallelism": j.parallelism}
        for j in sorted(active, key=lambda j: j.sort_key)
    ]
    desired["activeCount"] = len(active)
    desired["currentParallelism"] = sum(j.parallelism for j in active)
    generation = meta.get("generation")
    if generation is not None:
        desired["observedGeneration"] = generation

    if parsed.schedule_problem:
        ready = conditions.Condition(constants.COND_READY, False, constants.REASON_INVALID_SCHEDULE, parsed.schedule_problem)
        _post_once(state, deps, "Warning", constants.REASON_INVALID_SCHEDULE, parsed.schedule_problem,
                   f"invalid/{parsed.schedule_problem}")
    elif parsed.problems:
        message = "; ".join(parsed.problems)
        ready = conditions.Condition(constants.COND_READY, False, constants.REASON_INVALID_SPEC, message)
        _post_once(state, deps, "Warning", constants.REASON_INVALID_SPEC, message, f"invalid/{message}")
    else:
        nxt = desired.get("nextScheduleTime")
        ready = conditions.Condition(constants.COND_READY, True, "Scheduled",
                                     f"next run at {nxt}" if nxt else "suspended: runs only on request")
    effective_last = last_run or status.get("lastRun") or {}
    degraded = conditions.degraded(
        schedule_problem=parsed.schedule_problem,
        spec_problems=list(parsed.problems),
        stuck=plan.stuck,
        last_result=effective_last.get("result"),
        last_message=effective_last.get("message"),
        last_job=effective_last.get("job"),
    )
    if create_error is not None and not degraded.status:
        degraded = conditions.Condition(constants.COND_DEGRADED, True, constants.REASON_JOB_FAILED,
                                        f"could not create the Job: {create_error}")
    wanted_conditions = [
        ready,
        conditions.Condition(constants.COND_RUNNING, bool(active),
                             "JobRunning" if active else "Idle",
                             ", ".join(j.name for j in active)),
        conditions.Condition(constants.COND_SUSPENDED, bool(parsed.spec and parsed.spec.suspend),
                             "Suspended" if parsed.spec and parsed.spec.suspend else "NotSuspended"),
        degraded,
    ]
    if backlog_condition is not None:
        wanted_conditions.append(backlog_condition)
    desired["conditions"] = conditions.merge(current_status.get("conditions"), wanted_conditions,
                                             now=now, generation=generation)

    for key in DECISION_FIELDS:
        if key in desired:
            state.written[key] = desired[key]
    return {k: v for k, v in desired.items() if current_status.get(k) != v and not (v is None and k not in current_status)}


async def _create_run(
        run: planning.NewRun,
        spec: spec_module.CounterSyncSpec,
        *,
        name: str,
        namespace: str,
        now: datetime.datetime,
        deps: Deps,
        state: ObjectState,
) -> tuple[planning.JobInfo | None, conditions.Condition | None, str | None]:
    cfg = deps.config
    measured: sizing.Backlog | None = None
    unavailable: str | None = None
    backlog_condition: conditions.Condition | None = None
    if not spec.full:
        try:
            if deps.measure is not None:
                measured = await deps.measure(spec.job.shards)
            else:
                measured = await backlog.measure(cfg.backlog_url, shards=spec.job.shards,
                                                 timeout=cfg.backlog_timeout_seconds)
            backlog_condition = conditions.Condition(
                constants.COND_BACKLOG, True, "Measured",
                f"{measured.total} dirty pair(s) across {measured.shards} shard(s)")
        except backlog.BacklogUnavailable as e:
            unavailable = str(e)
            backlog_condition = conditions.Condition(constants.COND_BACKLOG, False,
                                                     constants.REASON_BACKLOG_UNAVAILABLE, unavailable)
            _post_once(state, deps, "Warning", constants.REASON_BACKLOG_UNAVAILABLE,
                       f"{unavailable}; sizing {run.name} with minParallelism", f"backlog/{run.name}")
    decision = sizing.decide(spec.scaling, shards=spec.job.shards, backlog=measured, full=spec.full,
                             unavailable_reason=unavailable)
    manifest = jobspec.build_job(
        countersync=name, namespace=namespace, spec=spec, name=run.name, trigger=run.trigger,
        scheduled_at=run.scheduled_at, created_at=now, parallelism=decision.parallelism,
        parallelism_reason=decision.reason, template=cfg.job_template, default_image=cfg.job_image,
        manual_token=run.manual_token,
    )
    deps.adopt(manifest)
    try:
        await deps.kube.create(kube.jobs_path(namespace), manifest)
    except kube.Conflict:
        deps.logger.info("Job %s already exists; a previous pass created it", run.name)
    except kube.ApiError as e:
        if not e.permanent:
            raise
        _post_once(state, deps, "Warning", "JobCreateFailed", f"could not create Job {run.name}: {e.message}",
                   f"create/{run.name}")
        return None, backlog_condition, e.message
    else:
        _post_once(state, deps, "Normal", "JobCreated",
                   f"created Job {run.name} ({run.trigger}, {spec.mode}, {spec.job.shards} shard(s)); "
                   f"parallelism {decision.parallelism}: {decision.message}", f"created/{run.name}")
    info = planning.JobInfo.from_job(manifest)
    state.pending[run.name] = (info, time.monotonic())
    return info, backlog_condition, None


async def _job_pods(client: kube.Kube, namespace: str, job_name: str) -> list[dict[str, Any]]:
    selector = f"{constants.POD_JOB_NAME_LABELS[0]}={job_name}"
    pods = await client.list(kube.pods_path(namespace), label_selector=selector)
    # Filter again locally: the selector is the API server's job, but a wrong answer must not
    # mix another run's pods into this run's result.
    return [p for p in pods if any(((p.get("metadata") or {}).get("labels") or {}).get(k) == job_name
                                   for k in constants.POD_JOB_NAME_LABELS)]


def _announce_result(state: ObjectState, deps: Deps, last_run: Mapping[str, Any]) -> None:
    result = last_run.get("result")
    counts = (f"checked {last_run.get('checked')}, drift {last_run.get('driftFound')}, "
              f"repaired {last_run.get('repaired')}")
    job = last_run.get("job")
    if result == constants.RESULT_SUCCEEDED:
        _post_once(state, deps, "Normal", "RunSucceeded", f"Job {job} succeeded: {counts}", f"result/{job}")
    elif result == constants.RESULT_DRIFT_FOUND:
        _post_once(state, deps, "Warning", "DriftFound", f"Job {job} found drift it did not repair: {counts}",
                   f"result/{job}")
    else:
        _post_once(state, deps, "Warning", "RunFailed",
                   f"Job {job} {result}: failed shards [{last_run.get('failedIndexes')}]; {counts}; "
                   f"{last_run.get('message', '')}".rstrip("; "), f"result/{job}")


def _post_once(state: ObjectState, deps: Deps, type_: str, reason: str, message: str, key: str) -> None:
    if key in state.posted:
        return
    state.posted.add(key)
    if len(state.posted) > 500:  # bounded memory over months of runs
        state.posted = set(list(state.posted)[-250:])
    deps.post_event(type_, reason, message)


def _pending(state: ObjectState, indexed: Iterable[planning.JobInfo], cfg: Config) -> list[planning.JobInfo]:
    """Created Jobs the watch has not shown yet; forgotten once seen or after a grace period."""
    seen = {j.name for j in indexed}
    horizon = time.monotonic() - cfg.pending_grace_seconds
    for job_name, (_, at) in list(state.pending.items()):
        if job_name in seen or at < horizon:
            del state.pending[job_name]
    return [info for info, _ in state.pending.values()]


def _gone(state: ObjectState, indexed: Iterable[planning.JobInfo]) -> list[str]:
    """Deleted Jobs the watch still shows; forgotten once the watch agrees."""
    seen = {j.name for j in indexed}
    horizon = time.monotonic() - 300
    for job_name, at in list(state.gone.items()):
        if job_name not in seen or at < horizon:
            del state.gone[job_name]
    return list(state.gone)
