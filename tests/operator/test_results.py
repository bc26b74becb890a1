"""Reading a finished run from its Job and its pods' termination messages."""

from __future__ import annotations

import datetime
import json

import pytest

from countersync import constants, results

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def summary(checked, drifted, repaired, shard=0):
    return json.dumps({"checked": checked, "drifted": drifted, "repaired": repaired, "duration_s": 1.0,
                       "shard": shard, "shards": 3, "mode": "verify", "full": False})


def pod(index, code, message, *, finished="2026-01-01T12:06:00Z", via="annotations"):
    meta = {"name": f"j-{index}-{code}-{finished}", via: {constants.POD_INDEX_KEY: str(index)}}
    return {"metadata": meta, "status": {"containerStatuses": [
        {"name": constants.CONTAINER, "state": {"terminated": {"exitCode": code, "message": message,
                                                               "finishedAt": finished}}}]}}


def job(conditions, **status):
    return {"name": "j", "trigger": "schedule", "completions": 3, "parallelism": 2,
            "scheduled_at": datetime.datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
            "status": {"conditions": conditions, **status}}


COMPLETE = [{"type": "Complete", "status": "True", "reason": "CompletionsReached",
             "lastTransitionTime": "2026-01-01T12:07:00Z"}]
FAILED = [{"type": "FailureTarget", "status": "True"},
          {"type": "Failed", "status": "True", "reason": "FailedIndexes", "message": "Job has failed indexes",
           "lastTransitionTime": "2026-01-01T12:08:00Z"}]


def test_summary_parsing():
    assert results.parse_summary(summary(1, 2, 3))["drifted"] == 2
    assert results.parse_summary("log line\n" + summary(1, 0, 0) + "\n")["checked"] == 1
    assert results.parse_summary("Traceback\nboom") is None
    assert results.parse_summary('{"checked": true, "drifted": 0, "repaired": 0}') is None
    assert results.parse_summary(None) is None


@pytest.mark.parametrize("text, indexes", [("", set()), ("1", {1}), ("0,2-4,7", {0, 2, 3, 4, 7}), ("x,3", {3})])
def test_index_sets(text, indexes):
    assert results.parse_index_set(text) == indexes


def test_index_set_formatting():
    assert results.format_index_set([5, 0, 1, 2, 9, 10]) == "0-2,5,9-10"
    assert results.format_index_set([]) == ""


def test_job_state():
    assert not results.job_state({}).finished
    assert not results.job_state({"conditions": [{"type": "FailureTarget", "status": "True"}]}).finished
    ok = results.job_state({"conditions": COMPLETE, "completionTime": "2026-01-01T12:06:59Z"})
    assert ok.finished and ok.succeeded and ok.finished_at == datetime.datetime(2026, 1, 1, 12, 6, 59, tzinfo=UTC)
    bad = results.job_state({"conditions": FAILED})
    assert bad.finished and not bad.succeeded and bad.reason == "FailedIndexes"


def test_succeeded_run_sums_every_shard():
    pods = [pod(0, 0, summary(10, 1, 1)), pod(1, 0, summary(20, 0, 0), via="labels"), pod(2, 0, summary(5, 2, 2))]
    last = results.summarize(job(COMPLETE, completionTime="2026-01-01T12:07:00Z"), pods, now=NOW)
    assert last["result"] == "Succeeded"
    assert (last["checked"], last["driftFound"], last["repaired"]) == (35, 3, 3)
    assert (last["shards"], last["shardsReported"], last["failedIndexes"]) == (3, 3, "")
    assert last["completionTime"] == "2026-01-01T12:07:00Z"
    assert last["scheduledTime"] == "2026-01-01T12:05:00Z"


def test_a_retried_shard_counts_once_with_its_final_pod():
    pods = [pod(0, 1, "crash", finished="2026-01-01T12:05:30Z"), pod(0, 0, summary(10, 0, 0)),
            pod(1, 0, summary(1, 0, 0)), pod(2, 0, summary(1, 0, 0))]
    last = results.summarize(job(COMPLETE), pods, now=NOW)
    assert last["checked"] == 12 and last["result"] == "Succeeded"


def test_drift_only_is_drift_found():
    pods = [pod(0, 0, summary(10, 0, 0)), pod(1, 3, summary(10, 4, 0)), pod(2, 3, summary(10, 1, 0))]
    last = results.summarize(job(FAILED, failedIndexes="1,2"), pods, now=NOW)
    assert last["result"] == "DriftFound"
    assert last["failedIndexes"] == "1-2" and last["driftFound"] == 5


def test_a_crash_next_to_successes_is_a_partial_failure_with_a_hint():
    pods = [pod(0, 0, summary(10, 0, 0)), pod(1, 1, "Traceback (most recent call last):\nOSError: db down"),
            pod(2, 0, summary(10, 0, 0))]
    last = results.summarize(job(FAILED, failedIndexes="1"), pods, now=NOW)
    assert last["result"] == "PartialFailure"
    assert "OSError: db down" in last["message"] and last["message"].startswith("shard 1 exited 1")


def test_nothing_finished_is_a_failure():
    deadline = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline"}]
    last = results.summarize(job(deadline), [], now=NOW)
    assert last["result"] == "Failed" and last["reason"] == "DeadlineExceeded"
    assert "deadline" in last["message"]
    assert last["completionTime"] == "2026-01-01T13:00:00Z"  # no time on the condition: now


def test_deadline_after_some_shards_is_a_partial_failure():
    deadline = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
    last = results.summarize(job(deadline, completedIndexes="0"), [pod(0, 0, summary(3, 0, 0))], now=NOW)
    assert last["result"] == "PartialFailure"
