"""Counters survive faults: processes killed mid-traffic, Redis emptied, events lost or repeated.

Each test runs its own system on its own database. Traffic is a client that sends
with idempotency keys and retries until acknowledged, as a real client would. The
self-healing faults (a killed counter or syncer, a flushed Redis) must leave no
drift even before any reconcile run; lost updates need exactly one repair run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis

from common import runtime
from common.rpc.unread.v1 import syncer_pb2, syncer_pb2_grpc

from .client import User
from .test_replicas import FAST_SWEEPS, quiet_truth

pytestmark = pytest.mark.e2e


class RetryingSender:
    """Sends numbered messages, each with its own key, retrying after an error frame until acked."""

    def __init__(self, sender: User, chat_id: str) -> None:
        self.sender = sender
        self.chat_id = chat_id
        self.acked: dict[str, str] = {}  # client key -> message id
        self.errors = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        socket = await self.sender.socket()
        n = 0
        while not self._stop.is_set():
            key = f"k{n}"
            while key not in self.acked:
                seen = len(socket.frames)
                await socket.send_messages(self.chat_id, f"message {n}", client_id=key)
                reply = await self._next_reply(socket, seen)
                if reply.get("action") == "send-message-ack":
                    self.acked[key] = reply["payload"]["message_ids"][0]
                else:
                    self.errors += 1
                    await asyncio.sleep(0.1)
            n += 1
        await socket.close()

    @staticmethod
    async def _next_reply(socket, seen: int) -> dict:
        async with socket._arrived:
            await asyncio.wait_for(socket._arrived.wait_for(lambda: any(
                f.get("action") == "send-message-ack" or f.get("topic") == "error" for f in socket.frames[seen:])), 30)
        return next(f for f in socket.frames[seen:] if f.get("action") == "send-message-ack" or f.get("topic") == "error")

    def stop(self) -> None:
        self._stop.set()


def kill_and_restart(stack, name: str) -> None:
    service = stack.group.get(name)
    service.signal(signal.SIGKILL)
    service.process.wait()
    service.start(stack.env)
    stack.group.wait_ready([service], 30)


def reconcile(stack, *args: str) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, "-m", "syncer", "reconcile", "--full", *args],
                            env={**stack.env, "LOG_FORMAT": "text"}, capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


async def assert_consistent(stack, users: list[User], chat_id: str, sender: RetryingSender) -> None:
    truth = await quiet_truth(stack.env["DATABASE_URL"])
    await asyncio.sleep(1.0)  # the outbox replay interval
    for user in users:
        assert await user.unread(chat_id) == truth[(user.id, chat_id)]
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    try:
        stored = await conn.fetch("SELECT id, client_id FROM messages WHERE chat_id = $1", uuid.UUID(chat_id))
    finally:
        await conn.close()
    assert {r["client_id"]: str(r["id"]) for r in stored} == sender.acked  # nothing lost, nothing twice
    assert len(stored) == len(sender.acked)


async def start_traffic(stack, http) -> tuple[list[User], str, RetryingSender, asyncio.Task]:
    bob = await User(http, stack.url, "Bob").register()
    alice = await User(http, stack.url, "Alice").register()
    chat = await bob.chat_with(alice)
    sender = RetryingSender(bob, chat)
    return [bob, alice], chat, sender, asyncio.create_task(sender.run())


async def flush_redis(stack) -> None:
    client = aioredis.Redis.from_url(stack.env["REDIS_URL"])
    await client.flushdb()
    await client.aclose()


@pytest.mark.parametrize("fault", ["kill -9 counter", "kill -9 syncer", "flush redis"])
async def test_self_healing_faults_leave_no_drift(fresh_stack, http, fault):
    stack = fresh_stack(**FAST_SWEEPS)
    users, chat, sender, traffic = await start_traffic(stack, http)
    await asyncio.sleep(0.5)
    if fault.startswith("kill"):
        await asyncio.to_thread(kill_and_restart, stack, fault.split()[-1])
    else:
        await flush_redis(stack)
    await asyncio.sleep(0.5)
    sender.stop()
    await traffic
    assert len(sender.acked) > 10
    await assert_consistent(stack, users, chat, sender)
    code, summary = await asyncio.to_thread(reconcile, stack, "--mode", "verify")
    assert (code, summary["drifted"]) == (0, 0), summary


async def test_a_lost_decrement_is_repaired_by_one_run(fresh_stack, http):
    stack = fresh_stack(**FAST_SWEEPS)
    users, chat, sender, traffic = await start_traffic(stack, http)
    await asyncio.sleep(0.3)
    sender.stop()
    await traffic
    bob, alice = users
    await alice.history(chat, limit=5)  # decrements by 5 ...
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    await conn.execute("UPDATE counters SET unread = unread + 5 WHERE user_id = $1", uuid.UUID(alice.id))  # ... lost
    await conn.close()
    code, found = await asyncio.to_thread(reconcile, stack, "--mode", "verify")
    assert (code, found["drifted"]) == (3, 1)
    code, fixed = await asyncio.to_thread(reconcile, stack, "--mode", "repair")
    assert (code, fixed["repaired"]) == (0, 1)
    await assert_consistent(stack, users, chat, sender)
    code, after = await asyncio.to_thread(reconcile, stack, "--mode", "verify")
    assert (code, after["drifted"]) == (0, 0)


async def test_a_message_sent_twice_counts_once_and_a_repeated_confirmation_changes_nothing(fresh_stack, http):
    stack = fresh_stack(**FAST_SWEEPS)
    bob = await User(http, stack.url, "Bob").register()
    alice = await User(http, stack.url, "Alice").register()
    chat = await bob.chat_with(alice)
    socket = await bob.socket()
    for _ in range(2):  # a client retrying a send whose ack it never saw
        await socket.send_messages(chat, "only once", client_id="same-key")
    acks = await socket.wait_for("messenger", "send-message-ack", count=2)
    assert acks[0]["payload"]["message_ids"] == acks[1]["payload"]["message_ids"]
    await asyncio.sleep(0.3)
    assert await alice.unread(chat) == 1
    page = await alice.history(chat)
    assert (page["total"], page["new_messages"], page["unread"]) == (1, 1, 0)

    alice_ws = await alice.socket()
    await socket.send_messages(chat, "live", client_id="live-key")
    await alice_ws.wait_for("messenger", "send-message")
    await asyncio.sleep(0.3)
    syncer = syncer_pb2_grpc.SyncerStub(runtime.channel(f"127.0.0.1:{stack.ports.syncer}"))
    for _ in range(2):  # a gateway retrying its delivery confirmation
        await syncer.ConfirmDelivery(syncer_pb2.ConfirmDeliveryRequest(user_id=alice.id, chat_id=chat, seqs=[2]))
    await asyncio.sleep(0.3)
    assert await alice.unread(chat) == 0
    code, summary = await asyncio.to_thread(reconcile, stack, "--mode", "verify")
    assert (code, summary["drifted"]) == (0, 0)
    for ws in (socket, alice_ws):
        await ws.close()


async def test_two_reconcilers_on_one_shard_at_once(fresh_stack, http):
    stack = fresh_stack(**FAST_SWEEPS)
    users, chat, sender, traffic = await start_traffic(stack, http)
    await asyncio.sleep(0.3)
    sender.stop()
    await traffic
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    await conn.execute("UPDATE counters SET unread = unread + 3")
    await conn.close()
    results = await asyncio.gather(*(asyncio.to_thread(reconcile, stack, "--mode", "repair") for _ in range(2)))
    assert all(code == 0 for code, _ in results)
    code, after = await asyncio.to_thread(reconcile, stack, "--mode", "verify")
    assert (code, after["drifted"]) == (0, 0)
    await assert_consistent(stack, users, chat, sender)
