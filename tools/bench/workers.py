"""The load generators: aiohttp WebSocket and HTTP clients, each in a process of its own.

The services never share a process with their clients. `run_workers` spawns one
process per job (multiprocessing, spawn), lets them connect, starts them at once
through a barrier the parent also waits on (so it can measure between phases), and
collects what each returns. Latencies use CLOCK_MONOTONIC (`time.monotonic_ns`),
which is the same clock in every process, so a receipt in one process can be timed
against a send in another: a sent message's text is its send time in ns.

This module imports only what a client needs (aiohttp, uvloop), so workers start fast.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import queue as queue_module
import random
import resource
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

Sync = Callable[[], Awaitable[None]]
BARRIER_TIMEOUT_S = 300


# ---------------------------------------------------------------- processes


def raise_fd_limit() -> int:
    """Soft fd limit up to the hard one (sockets are fds); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _entry(fn, job: dict, barrier, results, index: int) -> None:
    raise_fd_limit()
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    async def sync() -> None:
        await asyncio.to_thread(barrier.wait, BARRIER_TIMEOUT_S)

    try:
        result = asyncio.run(fn(job, sync))
        results.put((index, "ok", result))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the scenario
        barrier.abort()
        results.put((index, "error", traceback.format_exc()))


def run_workers(jobs: list[tuple[Callable, dict]], syncs: int = 1, between: Callable[[int], None] | None = None,
                timeout_s: float = 600) -> list[Any]:
    """Runs each `fn(job, sync)` of `jobs` in a process of its own; returns their results in order.

    Every worker calls `await sync()` exactly `syncs` times; the parent waits at the
    same barrier and calls `between(k)` after the k-th one (0-based), before the next.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(jobs) + 1)
    results = ctx.Queue()
    processes = [ctx.Process(target=_entry, args=(fn, job, barrier, results, i), daemon=True)
                 for i, (fn, job) in enumerate(jobs)]
    for p in processes:
        p.start()
    collected: dict[int, Any] = {}
    errors: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        for k in range(syncs):
            if not _wait_at(barrier, processes):
                break  # a worker failed: its traceback is in the queue (or it died without one)
            if between is not None:
                between(k)
        while len(collected) + len(errors) < len(jobs):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"workers did not finish in {timeout_s:.0f}s")
            try:
                index, status, value = results.get(timeout=min(left, 1.0))
            except queue_module.Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    raise RuntimeError("a worker died without a result") from None
                continue
            if status == "ok":
                collected[index] = value
            else:
                errors.append(value)
        if errors:
            raise RuntimeError("a load worker failed:\n" + errors[0])
        return [collected[i] for i in range(len(jobs))]
    finally:
        for p in processes:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()


def _wait_at(barrier, processes) -> bool:
    """The parent's turn at the barrier, watching the workers: one that exits before
    arriving (an import error, a crash) breaks the barrier instead of leaving the rest
    waiting for BARRIER_TIMEOUT_S. False when the barrier broke."""
    outcome: list[bool] = []

    def wait() -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
            outcome.append(True)
        except threading.BrokenBarrierError:
            outcome.append(False)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    while waiter.is_alive():
        waiter.join(0.2)
        if waiter.is_alive() and any(p.exitcode is not None for p in processes):
            barrier.abort()
    return outcome == [True]


# ---------------------------------------------------------------- helpers


def now_ns() -> int:
    return time.monotonic_ns()


def ms(ns: int) -> float:
    return ns / 1e6


def ws_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + "/messenger/ws"


def session(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, force_close=False),
                                 timeout=aiohttp.ClientTimeout(total=60))


async def connect(http: aiohttp.ClientSession, base_url: str, token: str) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(ws_url(base_url), params={"token": token}, autoping=True, max_msg_size=0)


def send_frame(chat_id: str, texts: list[str], request_id: int) -> str:
    # The payload is a JSON string, as in the seed's walkthrough.
    payload = json.dumps({"chat_id": chat_id, "messages": [{"text": t, "status": "created"} for t in texts]})
    return json.dumps({"topic": "messenger", "action": "send-message", "payload": payload, "request_id": request_id})


class FrameFailed(Exception):
    pass


async def await_ack(ws: aiohttp.ClientWebSocketResponse, errors: dict | None = None) -> dict | None:
    """Reads frames until the send-message-ack (counter frames may come first). An error
    frame answering the send is counted in `errors` (by message) and None returned; without
    `errors` it raises."""
    while True:
        message = await ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise FrameFailed(f"socket closed while waiting for an ack: {message.type} {message.data!r}")
        frame = json.loads(message.data)
        if frame.get("action") == "send-message-ack":
            return frame
        if frame.get("topic") == "error":
            if errors is None:
                raise FrameFailed(f"error frame: {frame}")
            why = str(frame.get("payload"))[:160]
            errors[why] = errors.get(why, 0) + 1
            return None


def sent_times(frame: dict) -> list[int]:
    """The send times (ns) carried by a live send-message frame's messages."""
    payload = frame["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    return [int(m["text"]) for m in payload["messages"]]


class Window:
    """The measured part of a run: after warm-up, for a fixed time."""

    def __init__(self, warmup_s: float, measure_s: float) -> None:
        self.start = now_ns()
        self.measure_from = self.start + int(warmup_s * 1e9)
        self.stop_at = self.measure_from + int(measure_s * 1e9)

    def measured(self, t_ns: int) -> bool:
        return self.measure_from <= t_ns < self.stop_at


async def _receive_live(ws: aiohttp.ClientWebSocketResponse, window: Window, latencies: list[float],
                        counts: dict) -> None:
    """A companion's socket: times every live message against the send time in its text."""
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            return
        arrived = now_ns()
        frame = json.loads(message.data)
        if frame.get("topic") == "messenger" and frame.get("action") == "send-message":
            for t0 in sent_times(frame):
                counts["received"] += 1
                if window.measured(t0):
                    counts["received_in_window"] += 1
                    latencies.append(ms(arrived - t0))


async def _drain(tasks: list[asyncio.Task], wait_s: float) -> None:
    if tasks:
        await asyncio.wait(tasks, timeout=wait_s)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------- send (and fan-in)


async def send_job(job: dict, sync: Sync) -> dict:
    """Closed-loop senders, one per chat, one message per frame; companions online or not.

    job: base_url, pairs [{sender, chat_id, companion}], online, warmup_s, measure_s, max_per_sender
    """
    base = job["base_url"]
    async with session() as http:
        senders = await asyncio.gather(*(connect(http, base, p["sender"]) for p in job["pairs"]))
        companions = (await asyncio.gather(*(connect(http, base, p["companion"]) for p in job["pairs"]))
                      if job["online"] else [])
        ack_ms: list[float] = []
        live_ms: list[float] = []
        counts = {"sent": 0, "acked_in_window": 0, "received": 0, "received_in_window": 0}
        errors: dict[str, int] = {}
        await sync()
        window = Window(job["warmup_s"], job["measure_s"])
        receivers = [asyncio.create_task(_receive_live(ws, window, live_ms, counts)) for ws in companions]

        async def sender(ws, chat_id: str) -> None:
            for n in range(job["max_per_sender"]):
                t0 = now_ns()
                if t0 >= window.stop_at:
                    return
                await ws.send_str(send_frame(chat_id, [str(t0)], n))
                if await await_ack(ws, errors) is None:
                    continue
                counts["sent"] += 1
                if window.measured(t0):
                    ack_ms.append(ms(now_ns() - t0))
                    counts["acked_in_window"] += 1

        await asyncio.gather(*(sender(ws, p["chat_id"]) for ws, p in zip(senders, job["pairs"])))
        finished = now_ns()
        # Live deliveries still in flight get a moment to land.
        deadline = time.monotonic() + 3
        while job["online"] and counts["received"] < counts["sent"] and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await _drain(receivers, 0)
        await asyncio.gather(*(ws.close() for ws in [*senders, *companions]), return_exceptions=True)
    return {"ack_ms": ack_ms, "live_ms": live_ms, **counts, "errors": errors,
            "window_s": (min(finished, window.stop_at) - window.measure_from) / 1e9}


async def fanin_job(job: dict, sync: Sync) -> dict:
    """Many senders over many chats, a few loops each owning a slice of the senders' sockets.

    job: base_url, senders [{token, chats: [[chat_id, recipient_index], ...]}], online [{token}],
         loops, warmup_s, measure_s, seed
    Returns per-chat counts of messages sent, so the parent can check every counter after.
    """
    base = job["base_url"]
    rng = random.Random(job["seed"])
    async with session() as http:
        sockets = await _connect_many(http, base, [s["token"] for s in job["senders"]], 100)
        watchers = await _connect_many(http, base, [o["token"] for o in job["online"]], 100)
        ack_ms: list[float] = []
        live_ms: list[float] = []
        sent_per_chat: dict[str, int] = {}
        counts = {"sent": 0, "acked_in_window": 0, "received": 0, "received_in_window": 0}
        errors: dict[str, int] = {}
        await sync()
        window = Window(job["warmup_s"], job["measure_s"])
        receivers = [asyncio.create_task(_receive_live(ws, window, live_ms, counts)) for ws in watchers]
        owned = [list(range(i, len(sockets), job["loops"])) for i in range(job["loops"])]

        async def loop(mine: list[int]) -> None:
            n = 0
            while True:
                t0 = now_ns()
                if t0 >= window.stop_at:
                    return
                index = rng.choice(mine)
                chat_id = rng.choice(job["senders"][index]["chats"])
                await sockets[index].send_str(send_frame(chat_id, [str(t0)], n))
                n += 1
                if await await_ack(sockets[index], errors) is None:
                    continue
                counts["sent"] += 1
                sent_per_chat[chat_id] = sent_per_chat.get(chat_id, 0) + 1
                if window.measured(t0):
                    ack_ms.append(ms(now_ns() - t0))
                    counts["acked_in_window"] += 1

        await asyncio.gather(*(loop(mine) for mine in owned if mine))
        finished = now_ns()
        await asyncio.sleep(1.0)  # live deliveries in flight
        await _drain(receivers, 0)
        await asyncio.gather(*(ws.close() for ws in [*sockets, *watchers]), return_exceptions=True)
    return {"ack_ms": ack_ms, "live_ms": live_ms, "sent_per_chat": sent_per_chat, **counts, "errors": errors,
            "window_s": (min(finished, window.stop_at) - window.measure_from) / 1e9}


async def _connect_many(http, base: str, tokens: list[str], parallel: int) -> list:
    gate = asyncio.Semaphore(parallel)

    async def one(token: str):
        async with gate:
            return await connect(http, base, token)

    return list(await asyncio.gather(*(one(t) for t in tokens)))


# ---------------------------------------------------------------- HTTP


async def _get(http: aiohttp.ClientSession, url: str, token: str) -> tuple[int, dict]:
    async with http.get(url, headers={"Authorization": token}) as response:
        return response.status, await response.json(content_type=None)


async def open_loop_job(job: dict, sync: Sync) -> dict:
    """GETs at a fixed rate whatever the answers' speed (open loop).

    job: base_url, requests [[token, path]], rate, duration_s, seed
    Latency is timed from each request's scheduled start, so a stall is not hidden by
    fewer requests being sent during it; `service_ms` is timed from the actual start.
    """
    rng = random.Random(job["seed"])
    base = job["base_url"]
    async with session(limit=256) as http:
        # Warm up: keep-alive connections, and every request once (a reader's first read
        # loads their counters into Redis; the steady state is what is measured).
        gate = asyncio.Semaphore(32)

        async def warm(token: str, path: str) -> None:
            async with gate:
                await _get(http, base + path, token)

        await asyncio.gather(*(warm(token, path) for token, path in job["requests"][:2000]))
        await sync()
        latencies: list[float] = []
        service: list[float] = []
        statuses: dict[int, int] = {}
        start = now_ns()
        interval = 1e9 / job["rate"]
        total = int(job["rate"] * job["duration_s"])

        async def one(scheduled: int, token: str, path: str) -> None:
            began = now_ns()
            status, _ = await _get(http, base + path, token)
            done = now_ns()
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(ms(done - scheduled))
            service.append(ms(done - began))

        tasks = []
        for k in range(total):
            scheduled = start + int(k * interval)
            delay = (scheduled - now_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            token, path = rng.choice(job["requests"])
            tasks.append(asyncio.create_task(one(scheduled, token, path)))
        await asyncio.gather(*tasks)
        elapsed = (now_ns() - start) / 1e9
    return {"latency_ms": latencies, "service_ms": service, "statuses": statuses, "sent": total, "elapsed_s": elapsed}


async def closed_loop_job(job: dict, sync: Sync) -> dict:
    """`loops` concurrent GET loops, each as fast as answers come, for duration_s.

    job: base_url, token, paths (first pass in order when `in_order`, then at random), loops, duration_s,
         expect_messages (checked on /messenger/messages answers), seed
    """
    rng = random.Random(job["seed"])
    base = job["base_url"]
    async with session(limit=64) as http:
        await _get(http, base + job["paths"][0], job["token"])
        await sync()
        latencies: list[float] = []
        bad: list[str] = []
        ordered = list(job["paths"]) if job.get("in_order") else []
        start = now_ns()
        stop = start + int(job["duration_s"] * 1e9)

        async def loop() -> None:
            while now_ns() < stop:
                if job.get("in_order"):
                    if not ordered:
                        return
                    path = ordered.pop(0)
                else:
                    path = rng.choice(job["paths"])
                t0 = now_ns()
                status, body = await _get(http, base + path, job["token"])
                latencies.append(ms(now_ns() - t0))
                expect = job.get("expect_messages")
                if status != 200 or (expect and len(body.get("messages", ())) != expect):
                    bad.append(f"{status} {str(body)[:200]}")

        await asyncio.gather(*(loop() for _ in range(job["loops"])))
        elapsed = (now_ns() - start) / 1e9
    return {"latency_ms": latencies, "bad": bad[:5], "bad_count": len(bad), "elapsed_s": elapsed}


async def burst_job(job: dict, sync: Sync) -> dict:
    """Senders each send a burst to an offline reader; the reader then polls
    GET /counter/unread until it shows the whole burst. Lag = right answer - last ack.

    job: base_url, pairs [{sender, chat_id, reader}], burst, rounds
    """
    base = job["base_url"]
    async with session(limit=128) as http:
        sockets = await asyncio.gather(*(connect(http, base, p["sender"]) for p in job["pairs"]))
        for p in job["pairs"]:
            p["expected"] = (await _get(http, base + "/counter/unread", p["reader"]))[1]["total"]
        await sync()
        lags: list[float] = []
        polls: list[int] = []
        wrong_after_5s = 0

        async def burst(ws, pair: dict, round_no: int) -> None:
            nonlocal wrong_after_5s
            for n in range(job["burst"]):
                await ws.send_str(send_frame(pair["chat_id"], [str(now_ns())], round_no * 10_000 + n))
                await await_ack(ws)
            last_ack = now_ns()
            pair["expected"] += job["burst"]
            tries = 0
            while True:
                tries += 1
                _, body = await _get(http, base + "/counter/unread", pair["reader"])
                if body.get("total") == pair["expected"]:
                    lags.append(ms(now_ns() - last_ack))
                    polls.append(tries)
                    return
                if now_ns() - last_ack > 5e9:
                    wrong_after_5s += 1
                    return

        for r in range(job["rounds"]):
            await asyncio.gather(*(burst(ws, p, r) for ws, p in zip(sockets, job["pairs"])))
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"lag_ms": lags, "polls": polls, "wrong_after_5s": wrong_after_5s}


# ---------------------------------------------------------------- connections


async def connections_job(job: dict, sync: Sync) -> dict:
    """Opens idle authenticated sockets, holds them while the parent measures, then closes them.

    Three syncs: all open (parent reads the gateway's memory), held for hold_s and
    checked (parent reads it again), all closed.
    job: base_url, tokens, parallel, hold_s
    """
    fd_limit = raise_fd_limit()
    base = job["base_url"]
    gate = asyncio.Semaphore(job["parallel"])
    connect_ms: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        async def one(token: str):
            async with gate:
                t0 = now_ns()
                try:
                    ws = await connect(http, base, token)
                except Exception as exc:  # noqa: BLE001 - counted: the ceiling is what we look for
                    failures.append(repr(exc)[:200])
                    return None
                connect_ms.append(ms(now_ns() - t0))
                return ws

        started = now_ns()
        sockets = [ws for ws in await asyncio.gather(*(one(t) for t in job["tokens"])) if ws is not None]
        connect_s = (now_ns() - started) / 1e9

        async def idle(ws) -> None:
            # Reading keeps answering the gateway's heartbeat pings.
            async for _ in ws:
                pass

        readers = [asyncio.create_task(idle(ws)) for ws in sockets]
        await sync()  # 0: all open
        await asyncio.sleep(job["hold_s"])
        still_open = sum(1 for ws in sockets if not ws.closed)
        closed_why: dict[str, int] = {}
        for ws in sockets:
            if ws.closed:
                why = f"{ws.close_code} {ws.exception()!r}"[:120]
                closed_why[why] = closed_why.get(why, 0) + 1
        await sync()  # 1: held
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await _drain(readers, 5)
        await sync()  # 2: closed
    return {"connect_ms": connect_ms, "opened": len(sockets), "failed": len(failures), "failures": failures[:3],
            "still_open": still_open, "closed_why": closed_why, "connect_s": connect_s, "fd_limit": fd_limit}


# ---------------------------------------------------------------- raw baselines


async def pg_insert_job(job: dict, sync: Sync) -> dict:
    """Raw single-row INSERTs, each its own commit, over `concurrency` asyncpg connections."""
    import asyncpg

    conns = [await asyncpg.connect(job["database_url"]) for _ in range(job["concurrency"])]
    latencies: list[float] = []
    done = 0
    try:
        await sync()
        window = Window(job["warmup_s"], job["measure_s"])

        async def loop(conn) -> None:
            nonlocal done
            while True:
                t0 = now_ns()
                if t0 >= window.stop_at:
                    return
                await conn.execute("INSERT INTO bench_raw (payload) VALUES ($1)", str(t0))
                if window.measured(t0):
                    latencies.append(ms(now_ns() - t0))
                    done += 1

        await asyncio.gather(*(loop(c) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return {"latency_ms": latencies, "done": done}


async def redis_incr_job(job: dict, sync: Sync) -> dict:
    """Raw INCRs over `concurrency` redis-py asyncio connections, one command per round trip."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(job["redis_url"], max_connections=job["concurrency"])
    latencies: list[float] = []
    done = 0
    try:
        await asyncio.gather(*(client.ping() for _ in range(job["concurrency"])))
        await sync()
        window = Window(job["warmup_s"], job["measure_s"])

        async def loop(i: int) -> None:
            nonlocal done
            key = f"bench:incr:{job['worker']}:{i}"
            while True:
                t0 = now_ns()
                if t0 >= window.stop_at:
                    return
                await client.incr(key)
                if window.measured(t0):
                    latencies.append(ms(now_ns() - t0))
                    done += 1

        await asyncio.gather(*(loop(i) for i in range(job["concurrency"])))
        await client.delete(*[f"bench:incr:{job['worker']}:{i}" for i in range(job["concurrency"])])
    finally:
        await client.aclose()
    return {"latency_ms": latencies, "done": done}
