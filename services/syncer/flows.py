"""Every flow that changes what a user has not read, in the order the seed draws them.

send:  presence -> store (messenger; live recipients' copies pending) -> publish to
       their gateways -> ack; then, off the ack's path, count what was not
       delivered and apply the counter events.
read:  messenger marks read and returns events -> counter applies -> push.
A crash after the store loses nothing: the outbox and the pending copies are swept
by `relay` and applied again, idempotently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from prometheus_client import Counter as Metric

from common.presence import Presence, Route, channel
from common.runtime import Batcher
from common.rpc.unread.v1 import counter_pb2, counter_pb2_grpc, messenger_pb2, messenger_pb2_grpc, types_pb2
from syncer import frames

log = logging.getLogger(__name__)

LIVE_DELIVERIES = Metric("syncer_live_deliveries_total", "Messages published to a recipient's gateways")
COUNTED = Metric("syncer_undelivered_total", "Recipients with no live socket: their messages were counted")

MEMBERS_CACHE_SIZE = 100_000
# Events per Apply call when concurrent flows' events are coalesced (the relay's batches fit whole).
APPLY_BATCH = 1000
# Users per presence lookup, and frames per publish pipeline, when concurrent flows share them.
REDIS_BATCH = 500


class Flows:
    def __init__(self, messenger: messenger_pb2_grpc.MessengerStub, counter: counter_pb2_grpc.CounterStub,
                 presence: Presence) -> None:
        self.messenger = messenger
        self.counter = counter
        self.presence = presence
        # A chat's members never change (1:1 chats), so caching them in process is safe.
        self._members: OrderedDict[str, list[str]] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()
        self.applied_outbox_ids: list[int] = []
        # Concurrent flows share round trips: one Apply per batch of counter events, one
        # Redis pipeline per batch of presence lookups and of published frames.
        self._applier = Batcher(self._apply_batch, APPLY_BATCH)
        self._lookups = Batcher(self._instances_batch, REDIS_BATCH)
        self._publisher = Batcher(self._publish_batch, REDIS_BATCH)

    async def create_chat(self, request: messenger_pb2.CreateChatRequest) -> messenger_pb2.CreateChatResponse:
        created = await self.messenger.CreateChat(request)
        # Always (re)initialise: a crash between the two calls heals on the client's retry.
        await self.counter.InitCounters(counter_pb2.InitCountersRequest(
            keys=[types_pb2.CounterKey(user_id=m, chat_id=created.chat_id) for m in created.member_ids]))
        return created

    async def send(self, sender_id: str, chat_id: str, messages) -> list[types_pb2.Message]:
        recipients = [m for m in await self._chat_members(chat_id) if m != sender_id]
        routes = await self._instances(recipients) if recipients else {}
        sent = await self.messenger.SendMessages(messenger_pb2.SendMessagesRequest(
            sender_id=sender_id, chat_id=chat_id, messages=messages,
            live_recipient_ids=[u for u in recipients if routes.get(u)]))
        undelivered = await self._deliver_live(sent, routes) if sent.stored_seqs else []
        self._spawn(self._count_undelivered(chat_id, list(sent.stored_seqs), undelivered, list(sent.events)))
        return list(sent.messages)

    async def _deliver_live(self, sent: messenger_pb2.SendMessagesResponse, routes: dict[str, list[str]]) -> list[str]:
        """Publishes to every gateway of each live recipient; returns those no gateway received."""
        fresh = set(sent.stored_seqs)
        messages = [m for m in sent.messages if m.seq in fresh]
        chat_id = messages[0].chat_id
        frame = frames.live_messages(chat_id, messages)
        seqs = tuple(sorted(fresh))
        live = [u for u in sent.recipient_ids if routes.get(u)]
        targets = [(u, i) for u in live for i in routes[u]]
        receipts = await self._publisher.submit([(i, Route(u, frame, chat_id, seqs)) for u, i in targets]) if targets else []
        received = {u: 0 for u in live}
        for (u, _), count in zip(targets, receipts):
            received[u] += count
        LIVE_DELIVERIES.inc(len(live))
        return [u for u in live if received[u] == 0]

    async def _count_undelivered(self, chat_id: str, seqs: list[int], users: list[str],
                                 events: list[types_pb2.CounterEvent]) -> None:
        for user_id in users:
            COUNTED.inc()
            resolved = await self.messenger.ResolveDelivery(messenger_pb2.ResolveDeliveryRequest(
                user_id=user_id, chat_id=chat_id, seqs=seqs, delivered=False))
            events += resolved.events
        await self.apply(events)

    async def fetch_history(self, request: messenger_pb2.GetMessagesRequest) -> messenger_pb2.GetMessagesResponse:
        page = await self.messenger.GetMessages(request)
        # Applied before answering, so the next GET /counter/unread already agrees.
        await self.apply(list(page.events))
        return page

    async def read(self, request: messenger_pb2.MarkReadRequest) -> messenger_pb2.MarkReadResponse:
        marked = await self.messenger.MarkRead(request)
        await self.apply(list(marked.events))
        return marked

    async def confirm_delivery(self, user_id: str, chat_id: str, seqs: list[int]) -> None:
        resolved = await self.messenger.ResolveDelivery(messenger_pb2.ResolveDeliveryRequest(
            user_id=user_id, chat_id=chat_id, seqs=seqs, delivered=True))
        await self.apply(list(resolved.events))

    async def apply(self, events: list[types_pb2.CounterEvent]) -> None:
        """Counter events -> the counter service -> a frame to every socket of each user affected.

        Returns once these events are applied and pushed. Events of concurrent flows go to
        the counter service together, in one Apply (it sorts them per counter by version).
        """
        if events:
            await self._applier.submit(list(events))

    async def _apply_batch(self, events: list[types_pb2.CounterEvent]) -> list[None]:
        applied = await self.counter.Apply(counter_pb2.ApplyRequest(events=events))
        self.applied_outbox_ids += [e.id for e in events]
        await self.push_counters(list(applied.changed))
        return [None] * len(events)

    async def push_counters(self, values: list[types_pb2.CounterValue]) -> None:
        if not values:
            return
        routes = await self._instances(sorted({v.user_id for v in values}))
        routed = [(instance, Route(v.user_id, frames.unread(v.chat_id, v.unread, v.total)))
                  for v in values for instance in routes.get(v.user_id, ())]
        if routed:
            await self._publisher.submit(routed)

    async def _instances(self, user_ids: list[str]) -> dict[str, list[str]]:
        """Presence of these users, looked up together with the other flows' lookups of the moment."""
        return dict(zip(user_ids, await self._lookups.submit(user_ids)))

    async def _instances_batch(self, user_ids: list[str]) -> list[list[str]]:
        routes = await self.presence.instances(sorted(set(user_ids)))
        return [routes[u] for u in user_ids]

    async def _publish_batch(self, routed: list[tuple[str, Route]]) -> list[int]:
        """Publishes in one pipeline; how many gateway processes received each (0 or 1),
        as `Presence.publish` says it."""
        async with self.presence.redis.pipeline(transaction=False) as pipe:
            for instance, route in routed:
                pipe.publish(channel(instance), route.encode())
            return await pipe.execute()

    async def _chat_members(self, chat_id: str) -> list[str]:
        members = self._members.get(chat_id)
        if members is None:
            members = list((await self.messenger.GetChatMembers(
                messenger_pb2.GetChatMembersRequest(chat_id=chat_id))).member_ids)
            if members:
                self._members[chat_id] = members
                if len(self._members) > MEMBERS_CACHE_SIZE:
                    self._members.popitem(last=False)
        else:
            self._members.move_to_end(chat_id)
        return members

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Nothing is lost: the outbox and the pending-delivery sweeper pick it up.
            log.warning("background counter update failed; the sweepers will retry",
                        exc_info=task.exception())

    async def drain(self) -> None:
        """Waits for background work on shutdown, so a SIGTERM loses nothing it could finish."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

