import asyncio
import functools
import logging
import sys

from aiohttp import web

from common import logs, runtime
from common.config import ConfigError
from common.stores import connect_postgres, connect_redis
from gateway.app import build_app
from gateway.config import GatewaySettings, load_settings, weak_secret
from gateway.upstreams import Upstreams

log = logging.getLogger("gateway")

# Lets open requests finish after SIGTERM; sockets are closed (1001) right away.
SHUTDOWN_GRACE_S = 10.0


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
    await web.TCPSite(runner, "0.0.0.0", settings.port).start()
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
