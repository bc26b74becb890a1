"""This process's WebSockets, its presence in Redis, and the frames the syncer routes here.

Presence tells the syncer which gateway instances hold a user's sockets; the syncer
publishes frames for that user on those instances' channels (`common.presence`),
and the hub writes them to the user's local sockets. A live delivery (a route with
`seqs`) is confirmed to the syncer once at least one socket took it; one that is
never confirmed is counted as unread by the syncer's sweeper, so losing a frame
here can delay a counter but never falsify it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import WSCloseCode, web
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from common import runtime
from common.presence import Presence, Route, channel
from gateway.metrics import FRAMES_OUT, OPEN_SOCKETS, ROUTED_NOWHERE, ROUTED_TO_SOCKET

log = logging.getLogger(__name__)

# Frames queued for one socket before it counts as too slow and is closed.
OUTBOX_FRAMES = 256
# Well inside presence.ALIVE_TTL_S, so one missed refresh does not make this process look dead.
PRESENCE_REFRESH_S = 5.0
RESUBSCRIBE_DELAY_S = 1.0
CONFIRM_DRAIN_S = 5.0

ConfirmDelivery = Callable[[str, str, list[int]], Awaitable[None]]


class Connection:
    """One open WebSocket. Every frame to it goes through one queue and one writer
    task, so frames keep their order and a slow reader stalls nobody else."""

    def __init__(self, user_id: str, ws: web.WebSocketResponse) -> None:
        self.user_id = user_id
        self.ws = ws
        self._outbox: asyncio.Queue[tuple[str, asyncio.Future[bool]]] = asyncio.Queue(OUTBOX_FRAMES)
        self._too_slow = False
        self._writer: asyncio.Task | None = None

    def push(self, frame: str) -> asyncio.Future[bool]:
        """Queues a frame; the future says whether it reached the socket."""
        written = asyncio.get_running_loop().create_future()
        try:
            self._outbox.put_nowait((frame, written))
        except asyncio.QueueFull:
            self._too_slow = True
            written.set_result(False)
        return written

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_out())

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        while not self._outbox.empty():
            _, written = self._outbox.get_nowait()
            written.set_result(False)

    async def _write_out(self) -> None:
        while not self._too_slow:
            frame, written = await self._outbox.get()
            try:
                written.set_result(await self._send(frame))
            finally:
                if not written.done():
                    written.set_result(False)
        log.warning("closing a socket too slow to read its frames", extra={"user_id": self.user_id})
        await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow to read frames")

    async def _send(self, frame: str) -> bool:
        try:
            await self.ws.send_str(frame)
        except ConnectionError:
            return False
        FRAMES_OUT.inc()
        return True


class Hub:
    def __init__(self, redis: Redis, confirm_delivery: ConfirmDelivery) -> None:
        # One id per process: presence and routing address processes, not pods.
        self.instance = uuid.uuid4().hex
        self.redis = redis
        self.presence = Presence(redis)
        self._confirm_delivery = confirm_delivery
        self._sockets: dict[str, set[Connection]] = {}
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._confirms: set[asyncio.Task] = set()

    async def start(self) -> None:
        # Subscribed before the first socket registers, so no route to it can be missed.
        pubsub = await self._subscribe()
        await self.refresh_presence()
        self._tasks = [asyncio.create_task(self._listen(pubsub)), asyncio.create_task(
            runtime.every(PRESENCE_REFRESH_S, self.refresh_presence, self._stopping, "presence refresh"))]
        log.info("hub started", extra={"instance": self.instance})

    async def close_sockets(self) -> None:
        """Says goodbye to every client (1001: going away) and drops this process's presence."""
        connections = [c for group in self._sockets.values() for c in group]
        await asyncio.gather(*(c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
                               for c in connections), return_exceptions=True)
        try:
            await self.presence.retire(self.instance, list(self._sockets))
        except RedisError:
            log.warning("could not retire presence; it expires with the alive key", exc_info=True)

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._confirms:
            _, unfinished = await asyncio.wait(self._confirms, timeout=CONFIRM_DRAIN_S)
            for task in unfinished:
                task.cancel()

    def users(self) -> dict[str, int]:
        """user id -> sockets open here."""
        return {user_id: len(group) for user_id, group in self._sockets.items()}

    @contextlib.asynccontextmanager
    async def attached(self, connection: Connection) -> AsyncIterator[None]:
        """Registers a socket here and in presence for as long as the block runs.

        Raises RedisError when presence cannot be written: a socket nobody can route to
        would look online to its owner and receive nothing.
        """
        self._sockets.setdefault(connection.user_id, set()).add(connection)
        connection.start()
        OPEN_SOCKETS.inc()
        try:
            await self.presence.connected(self.instance, connection.user_id)
            try:
                yield
            finally:
                await self._disconnect(connection.user_id)
        finally:
            self._forget(connection)
            await connection.stop()
            OPEN_SOCKETS.dec()

    def _forget(self, connection: Connection) -> None:
        group = self._sockets.get(connection.user_id, set())
        group.discard(connection)
        if not group:
            self._sockets.pop(connection.user_id, None)

    async def _disconnect(self, user_id: str) -> None:
        try:
            await self.presence.disconnected(self.instance, user_id)
        except RedisError:
            # The entry outlives the socket; routes to it find no socket and are never confirmed.
            log.warning("could not record a disconnect", extra={"user_id": user_id}, exc_info=True)

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel(self.instance))
        return pubsub

    async def _listen(self, pubsub: PubSub | None) -> None:
        while True:
            try:
                pubsub = pubsub or await self._subscribe()
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._route(message["data"])
            except RedisError:
                # Frames published meanwhile are lost: their deliveries go unconfirmed and get counted.
                log.warning("lost the route channel; subscribing again", exc_info=True)
            if pubsub is not None:
                with contextlib.suppress(RedisError):
                    await pubsub.aclose()
                pubsub = None
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    def _route(self, raw: str) -> None:
        try:
            route = Route.decode(raw)
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed route", extra={"route": raw[:200]})
            return
        group = self._sockets.get(route.user_id)
        if not group:
            ROUTED_NOWHERE.inc()
            return
        ROUTED_TO_SOCKET.inc()
        written = [connection.push(route.frame) for connection in group]
        if route.seqs:
            self._spawn_confirm(route, written)

    def _spawn_confirm(self, route: Route, written: list[asyncio.Future[bool]]) -> None:
        task = asyncio.create_task(self._confirm_once_written(route, written))
        self._confirms.add(task)
        task.add_done_callback(self._confirm_finished)

    async def _confirm_once_written(self, route: Route, written: list[asyncio.Future[bool]]) -> None:
        if any(await asyncio.gather(*written)):
            await self._confirm_delivery(route.user_id, route.chat_id, list(route.seqs))

    def _confirm_finished(self, task: asyncio.Task) -> None:
        self._confirms.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("delivery confirmation failed; the syncer's sweeper will settle it",
                        exc_info=task.exception())

    async def refresh_presence(self) -> None:
        if not await self.presence.heartbeat(self.instance, self.users()):
            log.warning("presence was lost; wrote it again", extra={"users": len(self._sockets)})
