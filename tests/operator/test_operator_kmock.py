"""The operator for real (kopf, every handler, real HTTP) against kmock's emulated Kubernetes API.

kmock runs no controllers, so each test plays the Job controller itself: it writes the pods with
their termination messages and marks Jobs complete or failed, as the real one would.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

from countersync import constants

from cs_harness import CS_RESOURCE, NS, UTC, eventually

JOBS = "batch/v1/jobs"
PODS = "v1/pods"


def at(hh: int, mm: int, ss: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 1, 1, hh, mm, ss, tzinfo=UTC)


def minute(moment: datetime.datetime) -> int:
    return int(moment.timestamp()) // 60


def countersync(name: str = "nightly", *, created: datetime.datetime, uid: str = "uid-1",
                annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "metadata": {
            "name": name, "namespace": NS, "uid": uid, "generation": 1, "resourceVersion": "1",
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "annotations": annotations or {},
        },
        "spec": {"schedule": "*/5 * * * *", **spec},
    }


async def apply(kmock: Any, obj: dict[str, Any]) -> None:
    path = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{NS}/{constants.PLURAL}"
    async with kmock.post(path, json=obj) as resp:
        assert resp.status < 300, await resp.text()


async def patch_cs(kmock: Any, name: str, patch: dict[str, Any]) -> None:
    path = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{NS}/{constants.PLURAL}/{name}"
    async with kmock.patch(path, json=patch, headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status < 300, await resp.text()


def cs_status(kmock: Any, name: str = "nightly") -> dict[str, Any]:
    return dict(kmock.objects[CS_RESOURCE, NS, name].raw.get("status") or {})


def condition(kmock: Any, type_: str, name: str = "nightly") -> dict[str, Any]:
    for cond in cs_status(kmock, name).get("conditions") or []:
        if cond["type"] == type_:
            return cond
    return {}


def jobs(kmock: Any) -> dict[str, dict[str, Any]]:
    return {key[2]: obj.raw for key, obj in kmock.objects.items()
            if key[0] == JOBS and not obj.deleted}


def events(kmock: Any) -> list[dict[str, Any]]:
    return [r.data for r in list(kmock)
            if str(r.method).upper().endswith("POST") and r.url.path.endswith("/events") and isinstance(r.data, dict)]


async def finish_job(kmock: Any, job_name: str, outcomes: dict[int, tuple[int, str]], *, ok: bool,
                     reason: str = "") -> None:
    """Play the Job controller: terminated pods per index, then the Job's final condition."""
    for index, (code, message) in outcomes.items():
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": f"{job_name}-{index}-abcde", "namespace": NS,
                "labels": {"batch.kubernetes.io/job-name": job_name, "job-name": job_name,
                           constants.POD_INDEX_KEY: str(index)},
                "annotations": {constants.POD_INDEX_KEY: str(index)},
            },
            "status": {"phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": [{
                "name": constants.CONTAINER,
                "state": {"terminated": {"exitCode": code, "message": message,
                                         "finishedAt": "2026-01-01T12:06:00Z"}},
            }]},
        }
        async with kmock.post(f"/api/v1/namespaces/{NS}/pods", json=pod) as resp:
            assert resp.status < 300, await resp.text()
    done = sorted(i for i, (code, _) in outcomes.items() if code == 0)
    failed = sorted(i for i, (code, _) in outcomes.items() if code != 0)
    status: dict[str, Any] = {
        "startTime": "2026-01-01T12:05:01Z",
        "succeeded": len(done), "failed": len(failed), "active": 0,
        "completedIndexes": ",".join(map(str, done)),
        "conditions": [{"type": "Complete" if ok else "Failed", "status": "True",
                        "reason": reason or ("CompletionsReached" if ok else "FailedIndexes"),
                        "lastTransitionTime": "2026-01-01T12:06:00Z"}],
    }
    if ok:
        status["completionTime"] = "2026-01-01T12:06:00Z"
    if failed:
        status["failedIndexes"] = ",".join(map(str, failed))
    async with kmock.patch(f"/apis/batch/v1/namespaces/{NS}/jobs/{job_name}/status", json={"status": status},
                           headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status < 300, await resp.text()


def summary(checked: int, drifted: int, repaired: int, shard: int, shards: int, mode: str = "repair") -> str:
    return json.dumps({"checked": checked, "drifted": drifted, "repaired": repaired, "duration_s": 0.5,
                       "shard": shard, "shards": shards, "mode": mode, "full": False})


async def test_scheduled_run_creates_an_indexed_job_sized_from_the_backlog(kmock, operator, clock, backlog):
    backlog.dirty = [150, 0, 80, 20]  # 250 dirty pairs in 3 busy shards
    await apply(kmock, countersync(created=at(12, 3), job={"shards": 4},
                                   scaling={"minParallelism": 1, "maxParallelism": 3, "pairsPerWorker": 100}))
    await eventually(lambda: cs_status(kmock).get("nextScheduleTime") == "2026-01-01T12:05:00Z", what="nextScheduleTime")
    assert jobs(kmock) == {}

    clock.set(at(12, 5, 1))
    name = f"nightly-{minute(at(12, 5))}"
    job = await eventually(lambda: jobs(kmock).get(name), what="the Job")
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == 4
    assert job["spec"]["parallelism"] == 3  # ceil(250/100), within 1..3
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--mode", "verify", "--shards", "4"]
    assert container["image"] == "registry.local/unread-counters/syncer:test"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("CounterSync", "nightly", "uid-1", True)

    status = await eventually(lambda: cs_status(kmock) if cs_status(kmock).get("activeCount") == 1 else None,
                              what="status.active")
    assert status["active"][0]["name"] == name
    assert status["lastScheduleTime"] == "2026-01-01T12:05:00Z"
    assert status["currentParallelism"] == 3
    assert condition(kmock, "Running")["status"] == "True"
    assert condition(kmock, "BacklogMeasured")["status"] == "True"


async def test_finished_run_is_aggregated_from_termination_messages(kmock, operator, clock, backlog):
    backlog.dirty = [5, 5, 5]
    await apply(kmock, countersync(created=at(12, 3), mode="Repair", job={"shards": 3}))
    clock.set(at(12, 5, 1))
    name = f"nightly-{minute(at(12, 5))}"
    await eventually(lambda: jobs(kmock).get(name), what="the Job")
    await eventually(lambda: cs_status(kmock).get("activeCount") == 1, what="active")

    await finish_job(kmock, name, {0: (0, summary(100, 2, 2, 0, 3)),
                                   1: (0, summary(120, 0, 0, 1, 3)),
                                   2: (0, "progress...\n" + summary(80, 1, 1, 2, 3))}, ok=True)
    last = await eventually(lambda: cs_status(kmock).get("lastRun"), what="lastRun")
    assert last["job"] == name
    assert last["result"] == "Succeeded"
    assert (last["checked"], last["driftFound"], last["repaired"]) == (300, 3, 3)
    assert last["shardsReported"] == 3 and last["failedIndexes"] == ""
    status = await eventually(lambda: cs_status(kmock) if cs_status(kmock).get("activeCount") == 0 else None,
                              what="no active run")
    assert status["active"] == []
    assert status["lastSuccessfulTime"] == "2026-01-01T12:06:00Z"
    assert condition(kmock, "Running")["status"] == "False"
    assert condition(kmock, "Degraded")["status"] == "False"
    await eventually(lambda: any(e.get("reason") == "RunSucceeded" for e in events(kmock)), what="an event")


async def test_drift_and_failures_are_told_apart(kmock, operator, clock):
    # Verify mode: shard 1 found drift (exit 3), shard 2 crashed (exit 1), shard 0 was clean.
    await apply(kmock, countersync(created=at(12, 3), job={"shards": 3}))
    clock.set(at(12, 5, 1))
    name = f"nightly-{minute(at(12, 5))}"
    await eventually(lambda: jobs(kmock).get(name), what="the Job")
    await finish_job(kmock, name, {0: (0, summary(10, 0, 0, 0, 3, "verify")),
                                   1: (3, summary(10, 4, 0, 1, 3, "verify")),
                                   2: (1, "Traceback ...\nConnectionRefusedError: postgres")}, ok=False)
    last = await eventually(lambda: cs_status(kmock).get("lastRun"), what="lastRun")
    assert last["result"] == "PartialFailure"
    assert last["failedIndexes"] == "1-2"  # the Job API's compressed form
    assert last["driftFound"] == 4 and last["checked"] == 20
    assert "ConnectionRefusedError" in last["message"]
    degraded = await eventually(lambda: condition(kmock, "Degraded") if condition(kmock, "Degraded").get("reason") == "PartialFailure" else None,
                                what="Degraded/PartialFailure")
    assert degraded["status"] == "True"

    # The next run finds drift only: that is an answer, not a failure.
    clock.set(at(12, 10, 1))
    name2 = f"nightly-{minute(at(12, 10))}"
    await eventually(lambda: jobs(kmock).get(name2), what="the second Job")
    await finish_job(kmock, name2, {0: (0, summary(10, 0, 0, 0, 3, "verify")),
                                    1: (3, summary(10, 2, 0, 1, 3, "verify")),
                                    2: (0, summary(10, 0, 0, 2, 3, "verify"))}, ok=False)
    last = await eventually(lambda: cs_status(kmock)["lastRun"] if cs_status(kmock)["lastRun"]["job"] == name2 else None,
                            what="second lastRun")
    assert last["result"] == "DriftFound" and last["driftFound"] == 2
    await eventually(lambda: condition(kmock, "Degraded").get("status") == "False", what="Degraded cleared")
    # History: failedJobsHistoryLimit=1 keeps only the newest failed Job.
    await eventually(lambda: name not in jobs(kmock), what="old failed Job cleaned up")
    assert name2 in jobs(kmock)


async def test_forbid_skips_a_run_while_one_is_active(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3)))
    clock.set(at(12, 5, 1))
    first = f"nightly-{minute(at(12, 5))}"
    await eventually(lambda: jobs(kmock).get(first), what="the first Job")

    clock.set(at(12, 10, 1))
    await eventually(lambda: cs_status(kmock).get("lastSkippedTime") == "2026-01-01T12:10:00Z", what="skip recorded")
    assert list(jobs(kmock)) == [first]
    await eventually(lambda: any(e.get("reason") == "RunSkipped" for e in events(kmock)), what="an event")

    # Once the first run is over, the next slot runs again.
    await finish_job(kmock, first, {0: (0, summary(1, 0, 0, 0, 1))}, ok=True)
    clock.set(at(12, 15, 1))
    await eventually(lambda: f"nightly-{minute(at(12, 15))}" in jobs(kmock), what="the next Job")
    assert len(jobs(kmock)) == 2


async def test_replace_deletes_the_active_run(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), concurrencyPolicy="Replace"))
    clock.set(at(12, 5, 1))
    first = f"nightly-{minute(at(12, 5))}"
    await eventually(lambda: jobs(kmock).get(first), what="the first Job")
    clock.set(at(12, 10, 1))
    second = f"nightly-{minute(at(12, 10))}"
    await eventually(lambda: list(jobs(kmock)) == [second], what="the first Job replaced by the second")


async def test_suspend_creates_nothing_and_resuming_does_not_catch_up(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), suspend=True))
    await eventually(lambda: condition(kmock, "Suspended").get("status") == "True", what="Suspended")
    for moment in (at(12, 5, 1), at(12, 10, 1), at(12, 20, 1)):
        clock.set(moment)
        await eventually(lambda: cs_status(kmock).get("lastSkippedTime") == schedule_slot(moment), what="slot consumed")
    assert jobs(kmock) == {}
    assert "nextScheduleTime" not in cs_status(kmock)

    await patch_cs(kmock, "nightly", {"spec": {"suspend": False}})
    await eventually(lambda: condition(kmock, "Suspended").get("status") == "False", what="resumed")
    assert cs_status(kmock)["nextScheduleTime"] == "2026-01-01T12:25:00Z"
    assert jobs(kmock) == {}  # the slots missed while suspended are not owed


def schedule_slot(moment: datetime.datetime) -> str:
    slot = moment.replace(minute=moment.minute - moment.minute % 5, second=0)
    return slot.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_run_now_annotation_starts_one_run_even_when_suspended(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), suspend=True))
    await eventually(lambda: condition(kmock, "Suspended").get("status") == "True", what="Suspended")
    await patch_cs(kmock, "nightly", {"metadata": {"annotations": {constants.ANN_RUN_NOW: "2026-01-01T12:04"}}})
    job = await eventually(lambda: next((j for n, j in jobs(kmock).items() if n.startswith("nightly-m")), None),
                           what="the manual Job")
    assert job["metadata"]["labels"][constants.LABEL_TRIGGER] == "manual"
    await eventually(lambda: cs_status(kmock).get("lastRunNowToken") == "2026-01-01T12:04", what="token recorded")
    await finish_job(kmock, job["metadata"]["name"], {0: (0, summary(3, 0, 0, 0, 1))}, ok=True)
    await eventually(lambda: cs_status(kmock).get("activeCount") == 0, what="idle")
    assert len(jobs(kmock)) == 1  # the same token does not run twice

    await patch_cs(kmock, "nightly", {"metadata": {"annotations": {constants.ANN_RUN_NOW: "again"}}})
    await eventually(lambda: len(jobs(kmock)) == 2, what="a second manual Job for a new token")


async def test_invalid_schedule_is_reported_not_crashed_on(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), schedule="every tuesday"))
    ready = await eventually(lambda: condition(kmock, "Ready") or None, what="Ready condition")
    assert ready["status"] == "False" and ready["reason"] == "InvalidSchedule"
    degraded = condition(kmock, "Degraded")
    assert degraded["status"] == "True" and degraded["reason"] == "InvalidSchedule"
    assert "5 fields" in degraded["message"]
    await eventually(lambda: any(e.get("reason") == "InvalidSchedule" for e in events(kmock)), what="an event")
    clock.set(at(13, 0, 1))
    await eventually(lambda: cs_status(kmock).get("nextScheduleTime") is None, what="no schedule")
    assert jobs(kmock) == {}

    # Fixing the spec heals it.
    await patch_cs(kmock, "nightly", {"spec": {"schedule": "0 * * * *"}})
    await eventually(lambda: condition(kmock, "Ready").get("status") == "True", what="Ready again")
    assert condition(kmock, "Degraded")["status"] == "False"
    assert cs_status(kmock)["nextScheduleTime"] == "2026-01-01T14:00:00Z"


async def test_unreachable_backlog_falls_back_to_min_parallelism(kmock, operator, clock, backlog):
    backlog.dirty = None
    await apply(kmock, countersync(created=at(12, 3), job={"shards": 8},
                                   scaling={"minParallelism": 2, "maxParallelism": 6}))
    clock.set(at(12, 5, 1))
    job = await eventually(lambda: jobs(kmock).get(f"nightly-{minute(at(12, 5))}"), what="the Job")
    assert job["spec"]["parallelism"] == 2
    assert job["metadata"]["annotations"][constants.ANN_PARALLELISM_REASON] == "BacklogUnavailable"
    cond = await eventually(lambda: condition(kmock, "BacklogMeasured") or None, what="BacklogMeasured")
    assert cond["status"] == "False" and cond["reason"] == "BacklogUnavailable"
    await eventually(lambda: any(e.get("reason") == "BacklogUnavailable" for e in events(kmock)), what="an event")


async def test_full_pass_uses_max_parallelism_and_passes_full(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), mode="Repair", full=True, maxRepairsPerRun=10,
                                   job={"shards": 4}, scaling={"maxParallelism": 3}))
    clock.set(at(12, 5, 1))
    job = await eventually(lambda: jobs(kmock).get(f"nightly-{minute(at(12, 5))}"), what="the Job")
    assert job["spec"]["parallelism"] == 3
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--mode", "repair", "--shards", "4", "--full", "--max-repairs", "3"]


async def test_one_catch_up_run_after_downtime(kmock, operator, clock):
    # The operator was away from 12:05 to 12:31: five slots missed, one run for the latest.
    clock.set(at(12, 31, 0))
    await apply(kmock, {**countersync(created=at(11, 0), startingDeadlineSeconds=300),
                        "status": {"lastScheduleTime": "2026-01-01T12:05:00Z"}})
    await eventually(lambda: len(jobs(kmock)) == 1, what="one catch-up Job")
    assert list(jobs(kmock)) == [f"nightly-{minute(at(12, 30))}"]
    await eventually(lambda: any(e.get("reason") == "CatchUp" for e in events(kmock)), what="a CatchUp event")


async def test_a_run_older_than_the_starting_deadline_is_skipped(kmock, operator, clock):
    clock.set(at(12, 38, 0))  # the 12:35 slot is 180 s old, the deadline is 60 s
    await apply(kmock, {**countersync(created=at(11, 0), startingDeadlineSeconds=60),
                        "status": {"lastScheduleTime": "2026-01-01T12:05:00Z"}})
    await eventually(lambda: cs_status(kmock).get("lastSkippedTime") == "2026-01-01T12:35:00Z", what="skipped")
    await eventually(lambda: any(e.get("reason") == "MissedSchedule" for e in events(kmock)), what="an event")
    assert jobs(kmock) == {}
    clock.set(at(12, 40, 2))  # the next slot on time runs normally
    await eventually(lambda: list(jobs(kmock)) == [f"nightly-{minute(at(12, 40))}"], what="the next Job")


async def test_delete_leaves_nothing_behind(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3)))
    clock.set(at(12, 5, 1))
    await eventually(lambda: len(jobs(kmock)) == 1, what="the Job")
    path = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{NS}/{constants.PLURAL}/nightly"
    async with kmock.delete(path) as resp:
        assert resp.status < 300
    await eventually(lambda: kmock.objects[CS_RESOURCE, NS, "nightly"].deleted, what="the CounterSync gone")
    await eventually(lambda: jobs(kmock) == {}, what="its Jobs gone")
    clock.set(at(12, 10, 1))
    await asyncio.sleep(0.5)  # several ticks: nothing comes back
    assert jobs(kmock) == {}


async def test_a_stuck_job_is_deleted_and_does_not_block_later_runs(kmock, operator, clock):
    await apply(kmock, countersync(created=at(12, 3), job={"activeDeadlineSeconds": 60}))
    clock.set(at(12, 5, 1))
    first = f"nightly-{minute(at(12, 5))}"
    await eventually(lambda: jobs(kmock).get(first), what="the Job")
    # Nobody ever marks it finished; 60 s deadline + 30 s grace later the operator gives up on it.
    clock.set(at(12, 7, 0))
    degraded = await eventually(lambda: condition(kmock, "Degraded") if condition(kmock, "Degraded").get("reason") == "StuckJob" else None,
                                what="Degraded/StuckJob")
    assert degraded["status"] == "True"
    await eventually(lambda: first not in jobs(kmock), what="the stuck Job deleted")
    assert cs_status(kmock)["lastRun"]["result"] == "Stuck"
    clock.set(at(12, 10, 1))
    await eventually(lambda: f"nightly-{minute(at(12, 10))}" in jobs(kmock), what="the next run, not blocked")
