import asyncio

from common import logs, runtime
from common.config import load
from common.rpc.unread.v1 import messenger_pb2_grpc
from common.stores import connect_postgres
from messenger.config import MessengerSettings
from messenger.server import MessengerServicer
from messenger.store import Truth


async def serve(stop: asyncio.Event) -> None:
    settings = load(MessengerSettings)
    logs.setup("messenger", settings.log_level, settings.log_format)
    pool = await connect_postgres(settings.database_url, settings.db_pool_size)
    grpc_server = runtime.GrpcServer(settings.grpc_port, [
        (messenger_pb2_grpc.add_MessengerServicer_to_server, MessengerServicer(Truth(pool)), "unread.v1.Messenger"),
    ])
    admin = runtime.AdminServer(settings.metrics_port)
    await grpc_server.start()
    await admin.start()
    runtime.announce("messenger", grpc=grpc_server.port, http=settings.metrics_port)
    await stop.wait()
    await grpc_server.stop()
    await admin.stop()
    await pool.close()


runtime.run(serve)
