"""The sweepers that make a crash between two steps heal on its own.

- pending live deliveries nobody confirmed within DELIVERY_TIMEOUT_MS start counting;
- counter events left in the outbox (a syncer died before applying them, or the
  counter service was down) are applied again; applying twice is harmless;
- events known to be applied are deleted from the outbox in batches.
Every replica runs them; they are idempotent, so running them twice at once is too.
"""

from __future__ import annotations

import asyncio
import logging

from common import runtime
from common.rpc.unread.v1 import messenger_pb2
from syncer.flows import Flows

log = logging.getLogger(__name__)

BATCH = 1000
DELETE_INTERVAL_S = 0.2


class Relay:
    def __init__(self, flows: Flows, delivery_timeout_ms: int, replay_after_ms: int, interval_s: float) -> None:
        self.flows = flows
        self.delivery_timeout_ms = delivery_timeout_ms
        self.replay_after_ms = replay_after_ms
        self.interval_s = interval_s

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            runtime.every(self.interval_s, self.sweep_once, stop, "sweeping deliveries and the outbox"),
            runtime.every(DELETE_INTERVAL_S, self.delete_applied, stop, "deleting applied outbox events"),
        )
        try:
            await self.delete_applied()
        except Exception:
            log.warning("outbox rows left for the next replica's sweeper", exc_info=True)

    async def sweep_once(self) -> int:
        """One pass of both sweepers; returns how many events it applied."""
        expired = await self.flows.messenger.ExpireDeliveries(messenger_pb2.ExpireDeliveriesRequest(
            older_than_ms=self.delivery_timeout_ms, limit=BATCH))
        await self.flows.apply(list(expired.events))
        leftover = await self.flows.messenger.ListCounterEvents(messenger_pb2.ListCounterEventsRequest(
            older_than_ms=self.replay_after_ms, limit=BATCH))
        if leftover.events:
            log.info("replaying %d counter events from the outbox", len(leftover.events))
        await self.flows.apply(list(leftover.events))
        return len(expired.events) + len(leftover.events)

    async def delete_applied(self) -> None:
        ids, self.flows.applied_outbox_ids = self.flows.applied_outbox_ids, []
        if ids:
            await self.flows.messenger.DeleteCounterEvents(messenger_pb2.DeleteCounterEventsRequest(ids=ids))
