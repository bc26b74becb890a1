"""The life of a service process: event loop, SIGTERM, gRPC server with health, admin HTTP;
and `Batcher`, which lets concurrent requests share one round trip.

Every service's `__main__` is `runtime.run(serve)` where `serve(stop)` starts
its servers, waits for `stop` and shuts them down in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

# Lets an in-flight gRPC call finish before the server closes on SIGTERM.
SHUTDOWN_GRACE_S = 5.0

# Retries idempotent-by-design calls when a replica is restarting (UNAVAILABLE).
_RETRY_SERVICE_CONFIG = json.dumps({
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]
})


def run(serve: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    asyncio.run(_run_until_signal(serve))


async def _run_until_signal(serve: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(stop)
    log.info("stopped")


async def every(interval_s: float, step: Callable[[], Awaitable[object]], stop: asyncio.Event, what: str) -> None:
    """Runs `step` every interval until `stop`; a failing step is logged and tried again next time."""
    while not stop.is_set():
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying in %.1fs", what, interval_s)
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except asyncio.TimeoutError:
            pass


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address, options=[
        ("grpc.service_config", _RETRY_SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
    ])


class GrpcServer:
    """A gRPC server with the standard health service, serving on all interfaces."""

    def __init__(self, port: int, services: Iterable[tuple[Callable, object, str]]) -> None:
        self.server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.names = []
        for add_to_server, servicer, name in services:
            add_to_server(servicer, self.server)
            self.names.append(name)
        self.port = self.server.add_insecure_port(f"[::]:{port}")

    async def start(self) -> None:
        await self.server.start()
        for name in ["", *self.names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self) -> None:
        # NOT_SERVING first, so load balancers stop routing here before we close.
        for name in ["", *self.names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(SHUTDOWN_GRACE_S)


def metrics_response(_request: web.Request | None = None) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


class AdminServer:
    """Plain HTTP beside a gRPC server: /metrics for Prometheus, /healthz for liveness."""

    def __init__(self, port: int, routes: Iterable[web.RouteDef] = ()) -> None:
        self.port = port
        app = web.Application()
        app.router.add_get("/metrics", metrics_response)
        app.router.add_get("/healthz", lambda _r: web.json_response({"status": "ok"}))
        app.add_routes(list(routes))
        self.runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "0.0.0.0", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()


def announce(service: str, **ports: int) -> None:
    """One line saying where a service listens; the dev launcher prints these."""
    log.info("%s listening on %s", service, ", ".join(f"{k}:{v}" for k, v in ports.items()),
             extra={"ports": ports})


class Batcher:
    """Coalesces concurrent calls into one call per batch (a group commit).

    `flush(items)` takes the items of every waiting submission at once and returns
    one result per item. At most one flush runs at a time: what is submitted while
    it runs waits and goes together in the next one, so batches grow with the load
    and an idle system pays nothing but a loop turn. Each submitter gets the results
    of its own items, once they are done. When a batch of several submissions fails,
    each is retried on its own (all at once, as they would have run unbatched), so
    one bad submission fails alone.
    """

    def __init__(self, flush: Callable[[list], Awaitable[list]], max_items: int) -> None:
        self._flush = flush
        self._max_items = max_items
        self._waiting: deque[tuple[list, asyncio.Future]] = deque()
        self._worker: asyncio.Task | None = None

    async def submit(self, items: list) -> list:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((items, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = [self._waiting.popleft()]
            size = len(batch[0][0])
            while self._waiting and size + len(self._waiting[0][0]) <= self._max_items:
                batch.append(self._waiting.popleft())
                size += len(batch[-1][0])
            try:
                results = await self._flush([item for items, _ in batch for item in items])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc=exc)
                else:
                    await asyncio.gather(*(self._alone(items, future) for items, future in batch))
                continue
            start = 0
            for items, future in batch:
                _settle(future, results[start:start + len(items)])
                start += len(items)

    async def _alone(self, items: list, future: asyncio.Future) -> None:
        try:
            _settle(future, await self._flush(items))
        except Exception as exc:
            _settle(future, exc=exc)


def _settle(future: asyncio.Future, result=None, exc: BaseException | None = None) -> None:
    if future.done():  # its submitter was cancelled: the work is done (or failed) all the same
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
