"""The real gateway app on aiohttp's test server, with real Postgres and Redis and
fake gRPC services (gateway_fakes) standing in for the syncer, messenger and counter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

import gateway_fakes
from common.stores import connect_postgres, connect_redis
from gateway_helpers import User, create_user, start_gateway


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await connect_postgres(database_url, 5)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def world() -> gateway_fakes.World:
    return gateway_fakes.World()


@pytest.fixture(scope="session")
async def upstream_addr(world: gateway_fakes.World) -> AsyncIterator[str]:
    server, address = await gateway_fakes.serve(world)
    yield address
    await server.stop(None)


@pytest.fixture(scope="session")
async def gateway(upstream_addr: str, pool: asyncpg.Pool, redis: aioredis.Redis) -> AsyncIterator[TestClient]:
    client, upstreams = await start_gateway(upstream_addr, pool, redis)
    yield client
    await client.close()
    await upstreams.close()


@pytest.fixture
def new_user(gateway: TestClient) -> Callable[..., Awaitable[User]]:
    async def make(**overrides) -> User:
        return await create_user(gateway, **overrides)
    return make
