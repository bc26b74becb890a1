"""The aiohttp application of the gateway, built from its settings and its backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from common.rpc.unread.v1 import syncer_pb2
from gateway import frames
from gateway.auth import Authenticator, AuthApi
from gateway.config import GatewaySettings
from gateway.counter import CounterApi
from gateway.errors import json_errors
from gateway.hub import Hub
from gateway.messenger import MessengerApi
from gateway.metrics import measure
from gateway.ops import OpsApi
from gateway.sockets import SocketApi
from gateway.tokens import Tokens
from gateway.upstreams import Upstreams
from gateway.users import RefreshTokens, Users

HUB = web.AppKey("hub", Hub)


def build_app(settings: GatewaySettings, pool: asyncpg.Pool, redis: Redis, upstreams: Upstreams) -> web.Application:
    tokens = Tokens(settings.jwt_secret, settings.access_token_ttl_s, settings.refresh_token_ttl_s)
    auth = Authenticator(tokens)
    users = Users(pool)
    hub = Hub(redis, _confirmer(upstreams))
    limits = frames.Limits(settings.ws_max_messages_per_frame, settings.message_max_chars)
    # measure sits outside json_errors, so it counts the status the client really got.
    app = web.Application(middlewares=[measure, json_errors])
    app[HUB] = hub
    for api in (
        AuthApi(users, RefreshTokens(pool), tokens, auth),
        MessengerApi(auth, users, upstreams, settings.page_max_limit),
        CounterApi(auth, upstreams),
        SocketApi(auth, hub, upstreams, settings.ws_max_frame_bytes, limits),
        OpsApi(pool, redis),
    ):
        app.add_routes(api.routes())
    app.cleanup_ctx.append(_hub_running)
    app.on_shutdown.append(_close_sockets)
    return app


def _confirmer(upstreams: Upstreams):
    async def confirm_delivery(user_id: str, chat_id: str, seqs: list[int]) -> None:
        await upstreams.syncer.ConfirmDelivery(
            syncer_pb2.ConfirmDeliveryRequest(user_id=user_id, chat_id=chat_id, seqs=seqs), timeout=upstreams.timeout_s)

    return confirm_delivery


async def _hub_running(app: web.Application) -> AsyncIterator[None]:
    await app[HUB].start()
    yield
    await app[HUB].stop()


async def _close_sockets(app: web.Application) -> None:
    await app[HUB].close_sockets()
