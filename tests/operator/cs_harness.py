"""Helpers shared by the operator tests (a module of its own: "operator" would shadow the stdlib)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import Any

from countersync import constants

UTC = datetime.timezone.utc
NS = "unread"
CS_RESOURCE = f"{constants.GROUP}/{constants.VERSION}/{constants.PLURAL}"


class Clock:
    """The operator's view of time; tests move it instead of waiting for real minutes."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def set(self, now: datetime.datetime) -> None:
        self.now = now


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until the predicate returns something truthy; the operator runs concurrently."""
    deadline = asyncio.get_running_loop().time() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (KeyError, IndexError, TypeError) as e:
            last_exc = e
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else ""))
        await asyncio.sleep(0.05)


class Backlog:
    """What the fake syncer's GET /backlog answers; None makes it answer 503."""

    def __init__(self) -> None:
        self.dirty: list[int] | None = [0]

    def payload(self, request: Any) -> Any:
        shards = int(request.params.get("shards", "1"))
        if self.dirty is None:
            raise RuntimeError("syncer unavailable")  # kmock answers 500
        dirty = (self.dirty + [0] * shards)[:shards]
        return {"shards": shards, "dirty": dirty, "total": sum(dirty)}
