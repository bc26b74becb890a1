"""Parsing the spec: defaults like the CRD's, problems collected instead of raised."""

from __future__ import annotations

from countersync import spec as spec_module


def test_defaults():
    parsed = spec_module.parse({"schedule": "0 * * * *"}, name="nightly")
    assert parsed.valid
    s = parsed.spec
    assert (s.time_zone, s.suspend, s.concurrency_policy, s.mode, s.full) == ("UTC", False, "Forbid", "Verify", False)
    assert (s.successful_jobs_history_limit, s.failed_jobs_history_limit) == (3, 1)
    assert (s.job.shards, s.job.active_deadline_seconds, s.job.backoff_limit_per_index) == (1, 3600, 2)
    assert (s.scaling.min_parallelism, s.scaling.max_parallelism, s.scaling.pairs_per_worker) == (1, 10, 10000)
    assert s.starting_deadline_seconds is None and s.max_repairs_per_run is None


def test_schedule_problems_are_separate_from_other_problems():
    parsed = spec_module.parse({"schedule": "nope"}, name="nightly")
    assert not parsed.valid and parsed.schedule_problem and not parsed.problems


def test_problems_are_collected():
    parsed = spec_module.parse({
        "schedule": "0 * * * *", "concurrencyPolicy": "Sometimes", "mode": "Fix",
        "job": {"shards": 0}, "scaling": {"minParallelism": 5, "maxParallelism": 2},
    }, name="Bad.Name")
    assert not parsed.valid
    text = " | ".join(parsed.problems)
    for needle in ("metadata.name", "concurrencyPolicy", "mode", "job.shards", "minParallelism must not exceed"):
        assert needle in text


def test_wrong_types_do_not_crash():
    parsed = spec_module.parse({"schedule": "0 * * * *", "job": {"shards": "many"}, "startingDeadlineSeconds": True})
    assert not parsed.valid
    assert any("job.shards must be an integer" in p for p in parsed.problems)


def test_repair_cap_per_shard_rounds_up():
    parsed = spec_module.parse({"schedule": "0 * * * *", "maxRepairsPerRun": 10, "job": {"shards": 3}})
    assert parsed.spec.max_repairs_per_shard() == 4
