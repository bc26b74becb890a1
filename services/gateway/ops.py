"""What operators and tools read: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from common.runtime import metrics_response
from gateway.errors import error_response

log = logging.getLogger(__name__)

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
READINESS_TIMEOUT_S = 2.0


def openapi_document() -> dict:
    return json.loads(OPENAPI_PATH.read_text())


class OpsApi:
    def __init__(self, pool: asyncpg.Pool, redis: Redis) -> None:
        self.pool = pool
        self.redis = redis
        self.openapi = openapi_document()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz, allow_head=False),
            web.get("/readyz", self.readyz, allow_head=False),
            web.get("/metrics", self.metrics, allow_head=False),
            web.get("/openapi.json", self.openapi_json, allow_head=False),
        ]

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        """Ready when Postgres and Redis answer; the gRPC services have their own probes."""
        for store, check in (("postgres", self._postgres), ("redis", self._redis)):
            try:
                await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
            except Exception as exc:
                log.warning("not ready", extra={"store": store, "error": repr(exc)})
                return error_response(503, f"{store} is not answering")
        return web.json_response({"status": "ready"})

    async def _postgres(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def _redis(self) -> None:
        await self.redis.ping()

    async def metrics(self, _request: web.Request) -> web.Response:
        return metrics_response()

    async def openapi_json(self, _request: web.Request) -> web.Response:
        return web.json_response(self.openapi)
