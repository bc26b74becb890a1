"""Conditions move lastTransitionTime only on a real transition."""

from __future__ import annotations

import datetime

from countersync import conditions, constants

UTC = datetime.timezone.utc
T1 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T2 = datetime.datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def test_transition_time_moves_only_when_status_flips():
    first = conditions.merge(None, [conditions.Condition("Ready", True, "Scheduled", "a")], now=T1, generation=1)
    assert first == [{"type": "Ready", "status": "True", "reason": "Scheduled", "message": "a",
                      "lastTransitionTime": "2026-01-01T12:00:00Z", "observedGeneration": 1}]
    same = conditions.merge(first, [conditions.Condition("Ready", True, "Scheduled", "b")], now=T2)
    assert same[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z" and same[0]["message"] == "b"
    flipped = conditions.merge(same, [conditions.Condition("Ready", False, "InvalidSchedule", "c")], now=T2)
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T13:00:00Z"


def test_order_is_stable_and_unknown_types_are_kept():
    existing = [{"type": "Custom", "status": "True", "reason": "X", "message": "", "lastTransitionTime": "x"}]
    merged = conditions.merge(existing, [conditions.Condition("Degraded", False, "AsExpected"),
                                         conditions.Condition("Ready", True, "Scheduled")], now=T1)
    assert [c["type"] for c in merged] == ["Ready", "Degraded", "Custom"]
    assert conditions.is_true(merged, "Ready") and not conditions.is_true(merged, "Degraded")


def test_degraded_prefers_the_most_fundamental_cause():
    kwargs = dict(schedule_problem=None, spec_problems=[], stuck=[], last_result=None, last_message=None,
                  last_job="j1")
    assert not conditions.degraded(**kwargs).status
    assert conditions.degraded(**{**kwargs, "last_result": "DriftFound"}).status is False
    assert conditions.degraded(**{**kwargs, "last_result": "Failed"}).reason == constants.REASON_JOB_FAILED
    assert conditions.degraded(**{**kwargs, "last_result": "PartialFailure"}).reason == constants.REASON_PARTIAL_FAILURE
    assert conditions.degraded(**{**kwargs, "last_result": "Failed", "stuck": ["j2"]}).reason == constants.REASON_STUCK_JOB
    assert conditions.degraded(**{**kwargs, "stuck": ["j2"], "spec_problems": ["x"]}).reason == constants.REASON_INVALID_SPEC
    assert conditions.degraded(**{**kwargs, "spec_problems": ["x"], "schedule_problem": "bad"}).reason == \
        constants.REASON_INVALID_SCHEDULE
