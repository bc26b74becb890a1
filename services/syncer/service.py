"""The long-running syncer: gRPC flows, the sweepers, /backlog and reconcile metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import Gauge

from common import runtime
from common.presence import Presence
from common.rpc.unread.v1 import counter_pb2_grpc, messenger_pb2_grpc, syncer_pb2_grpc
from common.stores import connect_postgres, connect_redis
from syncer.config import SyncerSettings
from syncer.flows import Flows
from syncer.reconcile import backlog
from syncer.relay import Relay
from syncer.server import SyncerServicer

log = logging.getLogger(__name__)

DIRTY_BACKLOG = Gauge("counter_dirty_backlog", "Pairs the next incremental reconcile would check, all shards")
LAST_RUN = {
    "checked": Gauge("reconcile_last_checked", "Pairs checked by the shard's latest run", ["shard", "shards"]),
    "drifted": Gauge("reconcile_last_drift_found", "Drifted counters found by the shard's latest run", ["shard", "shards"]),
    "repaired": Gauge("reconcile_last_drift_repaired", "Counters repaired by the shard's latest run", ["shard", "shards"]),
    "duration_s": Gauge("reconcile_last_duration_seconds", "How long the shard's latest run took", ["shard", "shards"]),
}
METRICS_REFRESH_S = 30


def backlog_route(pool) -> web.RouteDef:
    async def handle(request: web.Request) -> web.Response:
        try:
            shards = int(request.query.get("shards", "1"))
            if not 1 <= shards <= 1024:
                raise ValueError
        except ValueError:
            return web.json_response({"code": 400, "message": "shards must be an integer in 1..1024"}, status=400)
        result = await backlog(pool, shards)
        DIRTY_BACKLOG.set(result["total"])
        return web.json_response(result)

    return web.get("/backlog", handle)


async def refresh_reconcile_metrics(pool) -> None:
    """Jobs are short-lived; their results live in reconcile_runs and are exported from here."""
    rows = await pool.fetch(
        "SELECT DISTINCT ON (shards, shard) shard, shards, checked, drifted, repaired, "
        "extract(epoch FROM finished_at - started_at) AS duration_s "
        "FROM reconcile_runs ORDER BY shards, shard, id DESC")
    for r in rows:
        for field, gauge in LAST_RUN.items():
            gauge.labels(str(r["shard"]), str(r["shards"])).set(float(r[field]))
    DIRTY_BACKLOG.set((await backlog(pool, 1))["total"])


async def serve(settings: SyncerSettings, stop: asyncio.Event) -> None:
    pool = await connect_postgres(settings.database_url, 2)
    redis = connect_redis(settings.redis_url)
    messenger_channel = runtime.channel(settings.messenger_addr)
    counter_channel = runtime.channel(settings.counter_addr)
    flows = Flows(messenger_pb2_grpc.MessengerStub(messenger_channel), counter_pb2_grpc.CounterStub(counter_channel),
                  Presence(redis))
    relay = Relay(flows, settings.delivery_timeout_ms, settings.outbox_replay_after_ms, settings.sweep_interval_s)
    grpc_server = runtime.GrpcServer(settings.grpc_port, [
        (syncer_pb2_grpc.add_SyncerServicer_to_server, SyncerServicer(flows), "unread.v1.Syncer"),
    ])
    admin = runtime.AdminServer(settings.metrics_port, [backlog_route(pool)])
    await grpc_server.start()
    await admin.start()
    runtime.announce("syncer", grpc=grpc_server.port, http=settings.metrics_port)
    background = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runtime.every(
        METRICS_REFRESH_S, lambda: refresh_reconcile_metrics(pool), stop, "reading reconcile results"))]
    await stop.wait()
    await grpc_server.stop()
    await flows.drain()
    await asyncio.gather(*background, return_exceptions=True)
    await admin.stop()
    for channel in (messenger_channel, counter_channel):
        await channel.close()
    await redis.aclose()
    await pool.close()
