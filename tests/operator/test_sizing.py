"""Parallelism from the measured backlog, clamped like a ScaledJob's replica count."""

from __future__ import annotations

import pytest

from countersync import sizing

SCALING = sizing.Scaling(min_parallelism=2, max_parallelism=6, pairs_per_worker=100)


def backlog(*dirty: int) -> sizing.Backlog:
    return sizing.Backlog(shards=len(dirty), dirty=tuple(dirty), total=sum(dirty))


@pytest.mark.parametrize("dirty, expected", [
    ((0, 0, 0, 0, 0, 0, 0, 0), 2),          # nothing to do: the floor
    ((50, 0, 0, 0, 0, 0, 0, 0), 2),          # one busy shard, still the floor
    ((100, 100, 100, 0, 0, 0, 0, 0), 3),     # 300 pairs / 100 per worker
    ((1000, 0, 0, 0, 0, 0, 0, 0), 2),        # lots of work but in one shard: floor wins over busy shards (1)
    ((500,) * 8, 6),                          # capped by maxParallelism
])
def test_parallelism_follows_the_backlog(dirty, expected):
    decision = sizing.decide(SCALING, shards=len(dirty), backlog=backlog(*dirty), full=False)
    assert decision.parallelism == expected
    assert decision.reason == "Backlog"


def test_never_more_workers_than_shards():
    decision = sizing.decide(SCALING, shards=3, backlog=backlog(999, 999, 999), full=False)
    assert decision.parallelism == 3
    assert sizing.decide(SCALING, shards=1, backlog=backlog(999), full=False).parallelism == 1


def test_full_pass_uses_the_widest_allowed():
    decision = sizing.decide(SCALING, shards=10, backlog=None, full=True)
    assert (decision.parallelism, decision.reason) == (6, "FullPass")


def test_unmeasured_backlog_falls_back_to_the_floor_and_says_why():
    decision = sizing.decide(SCALING, shards=10, backlog=None, full=False, unavailable_reason="syncer down")
    assert (decision.parallelism, decision.reason) == (2, "BacklogUnavailable")
    assert "syncer down" in decision.message


def test_backlog_payload_is_validated():
    assert sizing.Backlog.from_json({"shards": 2, "dirty": [1, 2], "total": 3}, shards=2).total == 3
    for bad in ({"shards": 3, "dirty": [1, 2], "total": 3}, {"dirty": "12"}, [], {"shards": 2, "dirty": [1, -1]}):
        with pytest.raises(ValueError):
            sizing.Backlog.from_json(bad, shards=2)


def test_scaling_problems():
    assert sizing.Scaling(3, 2, 1).problems() == ["scaling.minParallelism must not exceed scaling.maxParallelism"]
    assert sizing.Scaling().problems() == []
