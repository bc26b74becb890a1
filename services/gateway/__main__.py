import asyncio
import functools
import logging
import sys

import redis.asyncio as aioredis
from aiohttp import web

from common import logs, runtime
from common.config import ConfigError
from common.stores import connect_postgres
from gateway.app import build_app
from gateway.config import GatewaySettings, load_settings, weak_secret
from gateway.upstreams import Upstreams

log = logging.getLogger("gateway")

# Lets open requests finish after SIGTERM; sockets are closed (1001) right away.
SHUTDOWN_GRACE_S = 10.0
# Every socket that opens or closes writes its presence; when more than this many Redis
# calls are in flight at once, the next one waits (up to REDIS_WAIT_S) for a connection.
REDIS_CONNECTIONS = 100
REDIS_WAIT_S = 5.0
# Connections waiting to be accepted; aiohttp's default (128) overflows when hundreds of
# clients connect at once, and each overflowed SYN is retried by the client after 1 s.
LISTEN_BACKLOG = 1024


def connect_redis(url: str) -> aioredis.Redis:
    """`common.stores.connect_redis` with a pool that waits for a free connection: redis-py's
    default pool fails the call at once (MaxConnectionsError) when its 100 are busy, which
    closed sockets of a burst of connects with 1013 and left disconnects unrecorded."""
    pool = aioredis.BlockingConnectionPool.from_url(url, decode_responses=True, health_check_interval=30,
                                                    max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S)
    return aioredis.Redis(connection_pool=pool)


async def serve(settings: GatewaySettings, stop: asyncio.Event) -> None:
    logs.setup("gateway", settings.log_level, settings.log_format)
    if weak_secret(settings):
        log.warning("JWT_SECRET is short: use at least 32 random bytes")
    pool = await connect_postgres(settings.database_url, settings.db_pool_size)
    redis = connect_redis(settings.redis_url)
    upstreams = Upstreams.from_settings(settings)
    runner = web.AppRunner(build_app(settings, pool, redis, upstreams), access_log=None,
                           shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", settings.port, backlog=LISTEN_BACKLOG).start()
    runtime.announce("gateway", http=settings.port)
    await stop.wait()
    await runner.cleanup()
    await upstreams.close()
    await redis.aclose()
    await pool.close()


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"gateway: {exc}")
    runtime.run(functools.partial(serve, settings))


main()
