"""The planner decides each pass from the resource and its Jobs at a given instant."""

from __future__ import annotations

import datetime

from countersync import constants, jobspec, planning
from countersync import spec as spec_module

UTC = datetime.timezone.utc
CREATED = datetime.datetime(2026, 1, 1, 12, 3, tzinfo=UTC)


def at(hh, mm, ss=0):
    return datetime.datetime(2026, 1, 1, hh, mm, ss, tzinfo=UTC)


def plan(now, *, jobs=(), status=None, annotations=None, name="cs", **raw):
    parsed = spec_module.parse({"schedule": "*/5 * * * *", **raw}, name=name)
    return planning.plan(name=name, parsed=parsed, status=status or {}, annotations=annotations or {},
                         created=CREATED, jobs=list(jobs), now=now, stuck_grace_seconds=60)


def running(slot, **kw):
    return planning.JobInfo(name=jobspec.scheduled_job_name("cs", slot), scheduled_at=slot, created_at=slot,
                            active_deadline_seconds=3600, **kw)


def finished(slot, ok=True):
    cond = {"type": "Complete" if ok else "Failed", "status": "True"}
    return running(slot, status={"conditions": [cond]})


def test_nothing_before_the_first_slot():
    p = plan(at(12, 4))
    assert p.create is None and p.status["nextScheduleTime"] == "2026-01-01T12:05:00Z"


def test_a_due_slot_creates_a_run_and_records_it():
    p = plan(at(12, 5, 3))
    assert p.create == planning.NewRun(jobspec.scheduled_job_name("cs", at(12, 5)), "schedule", at(12, 5))
    assert p.status["lastScheduleTime"] == "2026-01-01T12:05:00Z"
    assert p.status["nextScheduleTime"] == "2026-01-01T12:10:00Z"


def test_a_run_that_already_exists_is_recorded_not_recreated():
    p = plan(at(12, 5, 3), jobs=[running(at(12, 5))])
    assert p.create is None and p.status["lastScheduleTime"] == "2026-01-01T12:05:00Z"


def test_forbid_skips_and_consumes_the_slot():
    p = plan(at(12, 10, 1), jobs=[running(at(12, 5))], status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.create is None
    assert p.status["lastSkippedTime"] == "2026-01-01T12:10:00Z"
    assert [e.reason for e in p.events] == ["RunSkipped"]
    assert [j.name for j in p.active] == [running(at(12, 5)).name]


def test_replace_deletes_then_creates():
    p = plan(at(12, 10, 1), jobs=[running(at(12, 5))], concurrencyPolicy="Replace",
             status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.create is not None and p.delete == [(running(at(12, 5)).name, "replaced")]
    assert p.active == []


def test_allow_overlaps():
    p = plan(at(12, 10, 1), jobs=[running(at(12, 5))], concurrencyPolicy="Allow",
             status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.create is not None and p.delete == [] and len(p.active) == 1


def test_suspended_consumes_slots_silently():
    p = plan(at(12, 10, 1), suspend=True)
    assert p.create is None and p.events == []
    assert p.status["lastSkippedTime"] == "2026-01-01T12:10:00Z"
    assert p.status["nextScheduleTime"] is None


def test_run_now_runs_once_per_token_even_when_suspended():
    ann = {constants.ANN_RUN_NOW: "t1"}
    p = plan(at(12, 4), suspend=True, annotations=ann)
    assert p.create.trigger == "manual" and p.create.manual_token == "t1"
    assert p.status["lastRunNowToken"] == "t1"
    again = plan(at(12, 4), suspend=True, annotations=ann, status={"lastRunNowToken": "t1"})
    assert again.create is None


def test_run_now_waits_under_forbid():
    p = plan(at(12, 6), jobs=[running(at(12, 5))], annotations={constants.ANN_RUN_NOW: "t1"},
             status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.create is None and "lastRunNowToken" not in p.status
    assert [e.reason for e in p.events] == ["RunNowWaiting"]


def test_one_run_per_pass_even_when_both_are_due():
    p = plan(at(12, 5, 1), annotations={constants.ANN_RUN_NOW: "t1"})
    assert p.create.trigger == "manual"
    assert "lastScheduleTime" not in p.status  # the slot stays due for the next pass


def test_catch_up_once_after_downtime():
    p = plan(at(12, 31), status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.create.scheduled_at == at(12, 30)
    assert [e.reason for e in p.events] == ["CatchUp"]


def test_starting_deadline_skips_a_late_catch_up():
    p = plan(at(12, 33), status={"lastScheduleTime": "2026-01-01T12:05:00Z"}, startingDeadlineSeconds=60)
    assert p.create is None and p.status["lastSkippedTime"] == "2026-01-01T12:30:00Z"
    assert [e.reason for e in p.events] == ["MissedSchedule"]


def test_invalid_spec_plans_no_run_but_keeps_housekeeping():
    old = [finished(at(12, 5)), finished(at(12, 10)), finished(at(12, 15))]
    p = plan(at(12, 16), jobs=old, schedule="bad", successfulJobsHistoryLimit=1)
    assert p.create is None and p.status["nextScheduleTime"] is None
    assert [n for n, _ in p.delete] == [old[0].name, old[1].name]
    assert p.aggregate == old[2]


def test_history_limits_count_successes_and_failures_apart():
    jobs = [finished(at(12, 5), ok=False), finished(at(12, 10)), finished(at(12, 15), ok=False),
            finished(at(12, 20)), finished(at(12, 25))]
    p = plan(at(12, 26), jobs=jobs, successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1,
             status={"lastScheduleTime": "2026-01-01T12:25:00Z"})
    assert sorted(n for n, why in p.delete if why == "history") == sorted([jobs[0].name, jobs[1].name, jobs[3].name])


def test_only_the_newest_finished_run_is_aggregated_and_only_once():
    jobs = [finished(at(12, 5)), finished(at(12, 10))]
    p = plan(at(12, 11), jobs=jobs, status={"lastScheduleTime": "2026-01-01T12:10:00Z"})
    assert p.aggregate == jobs[1]
    done = plan(at(12, 11), jobs=jobs, status={"lastScheduleTime": "2026-01-01T12:10:00Z",
                                               "lastRun": {"job": jobs[1].name, "scheduledTime": "2026-01-01T12:10:00Z"}})
    assert done.aggregate is None


def test_a_stuck_run_is_deleted_reported_and_does_not_block():
    stuck = running(at(12, 5))
    now = at(12, 5) + datetime.timedelta(seconds=3600 + 61)
    p = plan(now, jobs=[stuck], status={"lastScheduleTime": "2026-01-01T12:05:00Z"})
    assert p.stuck == [stuck.name] and (stuck.name, "stuck") in p.delete
    assert p.status["lastRun"]["result"] == constants.RESULT_STUCK
    assert p.create is not None  # the due slot runs: nothing active any more


def test_pending_and_gone_jobs_merge_with_the_index():
    a, b, c = running(at(12, 5)), running(at(12, 10)), running(at(12, 15))
    merged = planning.merge_jobs([a, b], pending=[c, a], gone=[b.name])
    assert sorted(j.name for j in merged) == sorted([a.name, c.name])
