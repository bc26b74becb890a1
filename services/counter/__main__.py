import asyncio

from common import logs, runtime
from common.config import load
from common.rpc.unread.v1 import counter_pb2_grpc, messenger_pb2_grpc
from common.stores import connect_postgres, connect_redis
from counter.config import CounterSettings
from counter.server import CounterServicer, truth_from
from counter.store import CounterStore


async def serve(stop: asyncio.Event) -> None:
    settings = load(CounterSettings)
    logs.setup("counter", settings.log_level, settings.log_format)
    pool = await connect_postgres(settings.database_url, settings.db_pool_size)
    redis = connect_redis(settings.redis_url)
    messenger = runtime.channel(settings.messenger_addr)
    store = CounterStore(pool, redis, truth_from(messenger_pb2_grpc.MessengerStub(messenger)), settings.cache_ttl_s)
    grpc_server = runtime.GrpcServer(settings.grpc_port, [
        (counter_pb2_grpc.add_CounterServicer_to_server, CounterServicer(store), "unread.v1.Counter"),
    ])
    admin = runtime.AdminServer(settings.metrics_port)
    await grpc_server.start()
    await admin.start()
    runtime.announce("counter", grpc=grpc_server.port, http=settings.metrics_port)
    await stop.wait()
    await grpc_server.stop()
    await admin.stop()
    await messenger.close()
    await redis.aclose()
    await pool.close()


runtime.run(serve)
