"""Connections to Postgres (asyncpg) and Redis (redis-py), configured the same way everywhere."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis


async def connect_postgres(url: str, size: int = 10) -> asyncpg.Pool:
    # statement_cache_size stays on: every query here is a fixed text.
    return await asyncpg.create_pool(url, min_size=1, max_size=size, command_timeout=30)


def connect_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
