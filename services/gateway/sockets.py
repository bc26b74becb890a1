"""`GET /messenger/ws`: the client's frames in, answers and routed frames out.

Frames of one socket are handled one after another, so a client's sends are stored
in the order it wrote them; each socket has its own handler, so a slow call on one
never holds up another.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
from aiohttp import WSCloseCode, WSMsgType, web
from redis.exceptions import RedisError

from common.rpc.unread.v1 import messenger_pb2, syncer_pb2
from gateway import frames
from gateway.auth import Authenticator
from gateway.errors import ApiError, upstream_error
from gateway.hub import Connection, Hub
from gateway.metrics import FRAMES_IN
from gateway.upstreams import Upstreams

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0
# Frames up to this many times the limit are read and refused with an error frame, so a
# client that overshoots keeps its socket; beyond that aiohttp closes it (1009).
OVERSIZE_READ_FACTOR = 4


class SocketApi:
    def __init__(self, auth: Authenticator, hub: Hub, upstreams: Upstreams, max_frame_bytes: int,
                 limits: frames.Limits) -> None:
        self.auth = auth
        self.hub = hub
        self.up = upstreams
        self.max_frame_bytes = max_frame_bytes
        self.limits = limits

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/messenger/ws", self.websocket, allow_head=False)]

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        # Checked before the upgrade, so a bad token gets a plain 401, not a socket that closes.
        user_id, expires_at = self.auth.session_of(request, token_in_query=True)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=self.max_frame_bytes * OVERSIZE_READ_FACTOR)
        if not ws.can_prepare(request).ok:
            raise ApiError(426, "this endpoint speaks WebSocket only: send an Upgrade request")
        await ws.prepare(request)
        connection = Connection(user_id, ws)
        # The token only vouches for the user until it expires; so does the socket.
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, expires_at - time.time()), lambda: asyncio.create_task(self._expire(ws)))
        try:
            async with self.hub.attached(connection):
                await self._converse(connection)
        except RedisError:
            log.warning("cannot record presence; closing the socket", extra={"user_id": user_id}, exc_info=True)
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"presence unavailable, reconnect later")
        finally:
            expiry.cancel()
        return ws

    @staticmethod
    async def _expire(ws: web.WebSocketResponse) -> None:
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"access token expired: reconnect with a fresh one")

    async def _converse(self, connection: Connection) -> None:
        async for message in connection.ws:
            FRAMES_IN.inc()
            if message.type is WSMsgType.TEXT and len(message.data.encode()) > self.max_frame_bytes:
                connection.push(frames.error(413, f"the frame is larger than {self.max_frame_bytes} bytes"))
            elif message.type is WSMsgType.TEXT:
                connection.push(await self._answer(connection.user_id, message.data))
            elif message.type is WSMsgType.BINARY:
                connection.push(frames.error(400, "binary frames are not supported: send JSON as text"))
            else:
                log.debug("socket error", extra={"user_id": connection.user_id, "error": str(connection.ws.exception())})
                return

    async def _answer(self, user_id: str, raw: str) -> str:
        """The frame that answers one client frame; never raises, so the socket stays open."""
        request_id = None
        try:
            envelope = frames.decode(raw)
            request_id = frames.request_id_of(envelope)
            return await self._run(user_id, frames.command_of(envelope, self.limits), request_id)
        except frames.FrameError as exc:
            return frames.error(exc.code, exc.message, request_id)
        except grpc.aio.AioRpcError as exc:
            return frames.error(*upstream_error(exc), request_id)
        except Exception:
            log.exception("failed to handle a frame", extra={"user_id": user_id})
            return frames.error(500, "internal error", request_id)

    async def _run(self, user_id: str, command: frames.Command, request_id: frames.RequestId) -> str:
        if isinstance(command, frames.SendMessages):
            sent = await self.up.syncer.SendMessages(
                syncer_pb2.SendRequest(sender_id=user_id, chat_id=command.chat_id, messages=command.messages),
                timeout=self.up.timeout_s)
            return frames.send_ack(command.chat_id, [m.id for m in sent.messages], request_id)
        read = await self.up.syncer.ReadMessages(
            messenger_pb2.MarkReadRequest(user_id=user_id, chat_id=command.chat_id,
                                          up_to_message_id=command.up_to_message_id),
            timeout=self.up.timeout_s)
        return frames.read_ack(command.chat_id, read.unread, request_id)
