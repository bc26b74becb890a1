"""How many Job pods to run at once, from the measured backlog. Pure.

Like a KEDA ScaledJob the work queue decides the width, but here the "queue" is the syncer's
count of dirty (user, chat) pairs per shard. Parallelism never exceeds the number of shards
(an Indexed Job cannot use more pods than completions) and stays within the CounterSync's bounds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Scaling:
    min_parallelism: int = 1
    max_parallelism: int = 10
    pairs_per_worker: int = 10000

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Scaling:
        spec = spec or {}
        return cls(
            min_parallelism=int(spec.get("minParallelism", 1)),
            max_parallelism=int(spec.get("maxParallelism", 10)),
            pairs_per_worker=int(spec.get("pairsPerWorker", 10000)),
        )

    def problems(self) -> list[str]:
        out = []
        if self.min_parallelism < 1:
            out.append("scaling.minParallelism must be at least 1")
        if self.max_parallelism < 1:
            out.append("scaling.maxParallelism must be at least 1")
        if self.min_parallelism > self.max_parallelism:
            out.append("scaling.minParallelism must not exceed scaling.maxParallelism")
        if self.pairs_per_worker < 1:
            out.append("scaling.pairsPerWorker must be at least 1")
        return out


@dataclasses.dataclass(frozen=True)
class Backlog:
    """The syncer's answer to GET /backlog?shards=N."""
    shards: int
    dirty: tuple[int, ...]
    total: int

    @classmethod
    def from_json(cls, data: Any, *, shards: int) -> Backlog:
        """Validate the payload strictly: a wrong answer must not size a Job."""
        if not isinstance(data, Mapping):
            raise ValueError("backlog payload is not a JSON object")
        dirty_raw = data.get("dirty")
        if not isinstance(dirty_raw, Sequence) or isinstance(dirty_raw, (str, bytes)):
            raise ValueError("backlog payload has no 'dirty' list")
        dirty = tuple(int(n) for n in dirty_raw)
        if any(n < 0 for n in dirty):
            raise ValueError("backlog payload has negative counts")
        reported_shards = int(data.get("shards", len(dirty)))
        if reported_shards != shards or len(dirty) != shards:
            raise ValueError(f"backlog payload is for {reported_shards} shards ({len(dirty)} counts), asked for {shards}")
        total = int(data.get("total", sum(dirty)))
        return cls(shards=shards, dirty=dirty, total=max(total, sum(dirty)))


@dataclasses.dataclass(frozen=True)
class Decision:
    parallelism: int
    reason: str  # short, machine-friendly: Backlog, FullPass, BacklogUnavailable, BacklogNotConfigured
    message: str


def decide(
        scaling: Scaling,
        *,
        shards: int,
        backlog: Backlog | None,
        full: bool,
        unavailable_reason: str | None = None,
) -> Decision:
    """Pick the parallelism for a new run.

    * full pass: every pair is checked whatever the backlog says, so use the widest allowed;
    * measured backlog: one worker per ``pairsPerWorker`` dirty pairs, and no more workers than
      shards that actually have work (an idle shard finishes in moments);
    * no measurement: fall back to minParallelism and say why.
    """
    upper = max(1, min(scaling.max_parallelism, shards))
    lower = max(1, min(scaling.min_parallelism, upper))
    if full:
        return Decision(upper, "FullPass", f"full pass over {shards} shard(s): parallelism {upper}")
    if backlog is None:
        why = unavailable_reason or "backlog not measured"
        return Decision(lower, "BacklogUnavailable", f"{why}; using minParallelism {lower}")
    wanted = math.ceil(backlog.total / scaling.pairs_per_worker) if backlog.total else 0
    busy_shards = sum(1 for n in backlog.dirty if n > 0)
    wanted = min(wanted, busy_shards) if busy_shards else wanted
    chosen = max(lower, min(upper, wanted))
    return Decision(
        chosen, "Backlog",
        f"{backlog.total} dirty pair(s) in {busy_shards}/{shards} shard(s), "
        f"{scaling.pairs_per_worker} per worker: parallelism {chosen} (bounds {lower}..{upper})",
    )
