"""Two gateway + syncer pairs on one Postgres and Redis behave exactly like one.

The interleaving test drives random sends, connects, disconnects, history pages
and read actions across both replicas, and whenever traffic stops checks that
counter == truth for every (user, chat), that every acknowledged message is
stored exactly once, and that every message was either delivered live or
counted, never both, never neither.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from itertools import combinations

import asyncpg
import pytest

from .client import User

# Short sweeps, so an abandoned live delivery settles within the test's quiet period.
FAST_SWEEPS = {"DELIVERY_TIMEOUT_MS": "400", "SWEEP_INTERVAL_S": "0.1", "OUTBOX_REPLAY_AFTER_MS": "300"}
SETTLE_S = 0.15


@pytest.fixture
def two_replicas(fresh_stack):
    stack = fresh_stack(**FAST_SWEEPS)
    second = stack.add_edge()
    return stack, [stack.url, second]


async def test_bob_on_one_replica_reaches_alice_on_the_other(two_replicas, http):
    stack, (a, b) = two_replicas
    bob = await User(http, a, "Bob").register()
    alice = await User(http, b, "Alice").register()
    chat = await bob.chat_with(alice)
    alice_ws = await alice.socket(b)
    bob_ws = await bob.socket(a)
    await bob_ws.send_messages(chat, "across replicas")
    [frame] = await alice_ws.wait_for("messenger", "send-message")
    assert json.loads(frame["payload"])["messages"][0]["text"] == "across replicas"
    await alice_ws.close()
    await asyncio.sleep(SETTLE_S)
    await bob_ws.send_messages(chat, "now offline")
    await bob_ws.wait_for("messenger", "send-message-ack", count=2)
    await asyncio.sleep(SETTLE_S)
    # Counted once, readable from either replica.
    alice.base_url = a
    assert await alice.unread(chat) == 1
    alice.base_url = b
    assert await alice.unread(chat) == 1
    await bob_ws.close()


class Traffic:
    """Users, their sockets on random replicas, and what each client saw."""

    def __init__(self, rng: random.Random, users: list[User], replicas: list[str]) -> None:
        self.rng = rng
        self.users = users
        self.replicas = replicas
        self.sockets: dict[str, list] = {u.id: [] for u in users}
        self.closed: dict[str, list] = {u.id: [] for u in users}  # keep what they received
        self.chats: dict[frozenset, str] = {}
        self.acked: dict[str, tuple[str, str]] = {}  # message id -> (chat, sender)
        self.read_during_run: set[tuple[str, str]] = set()  # (user, message id) read via history/read action
        self.order: dict[str, list[str]] = {}  # chat -> acked message ids in send order

    def chat_of(self, a: User, b: User) -> str:
        return self.chats[frozenset((a.id, b.id))]

    async def step(self) -> None:
        action = self.rng.choice(["connect", "disconnect", "send", "send", "send", "history", "read"])
        user = self.rng.choice(self.users)
        other = self.rng.choice([u for u in self.users if u is not user])
        await getattr(self, action)(user, other)

    async def connect(self, user: User, _other: User) -> None:
        self.sockets[user.id].append(await user.socket(self.rng.choice(self.replicas)))

    async def disconnect(self, user: User, _other: User) -> None:
        if self.sockets[user.id]:
            await asyncio.sleep(SETTLE_S)  # frames in flight reach the client before it leaves
            socket = self.sockets[user.id].pop(self.rng.randrange(len(self.sockets[user.id])))
            await socket.close()
            self.closed[user.id].append(socket)

    async def send(self, user: User, other: User) -> None:
        if not self.sockets[user.id]:
            return
        socket = self.rng.choice(self.sockets[user.id])
        chat = self.chat_of(user, other)
        texts = [f"{user.name}->{other.name} {uuid.uuid4().hex[:6]}" for _ in range(self.rng.randint(1, 3))]
        acks_before = len(socket.of("messenger", "send-message-ack"))
        await socket.send_messages(chat, *texts)
        acks = await socket.wait_for("messenger", "send-message-ack", count=acks_before + 1)
        ids = acks[-1]["payload"]["message_ids"]
        for message_id in ids:
            self.acked[message_id] = (chat, user.id)
        self.order.setdefault(chat, []).extend(ids)

    async def history(self, user: User, other: User) -> None:
        chat = self.chat_of(user, other)
        page = await user.call("GET", "/messenger/messages", chat_id=chat, offset=str(self.rng.randint(0, 6)),
                               limit=str(self.rng.randint(1, 4)))
        self.read_during_run.update((user.id, m["id"]) for m in page["messages"])

    async def read(self, user: User, other: User) -> None:
        chat = self.chat_of(user, other)
        if not self.sockets[user.id] or not self.order.get(chat):
            return
        upto = self.rng.randrange(len(self.order[chat]))
        socket = self.sockets[user.id][0]
        before = len(socket.of("messenger", "read-messages-ack"))
        await socket.ws.send_str(json.dumps({"topic": "messenger", "action": "read-messages", "payload": {
            "chat_id": chat, "up_to_message_id": self.order[chat][upto]}}))
        await socket.wait_for("messenger", "read-messages-ack", count=before + 1)
        self.read_during_run.update((user.id, m) for m in self.order[chat][:upto + 1])

    def received_live(self, user_id: str) -> set[str]:
        return {m["id"] for s in self.sockets[user_id] + self.closed[user_id]
                for f in s.of("messenger", "send-message") for m in json.loads(f["payload"])["messages"]}


async def quiet_truth(database_url: str) -> dict[tuple[str, str], int]:
    """The messenger's truth once nothing is pending: (user, chat) -> unread."""
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(50):
            if not await conn.fetchval("SELECT count(*) FROM inbox WHERE pending"):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("live deliveries still pending after 5 s")
        rows = await conn.fetch(
            "SELECT m.user_id, m.chat_id, (SELECT count(*) FROM inbox i WHERE i.user_id = m.user_id "
            "AND i.chat_id = m.chat_id) AS unread FROM chat_members m")
        return {(str(r["user_id"]), str(r["chat_id"])): r["unread"] for r in rows}
    finally:
        await conn.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_interleavings_across_two_replicas(two_replicas, http, seed):
    stack, replicas = two_replicas
    rng = random.Random(seed)
    users = [await User(http, rng.choice(replicas), name).register() for name in ("Ann", "Ben", "Cat", "Dan")]
    traffic = Traffic(rng, users, replicas)
    for a, b in combinations(users, 2):
        traffic.chats[frozenset((a.id, b.id))] = await a.chat_with(b)
    for _ in range(60):
        await traffic.step()
    await asyncio.sleep(SETTLE_S)

    truth = await quiet_truth(stack.env["DATABASE_URL"])
    await asyncio.sleep(0.5)  # the last counter events reach the counter service
    for user in users:
        user.base_url = rng.choice(replicas)
        per_chat = {c["chat_id"]: c["unread"] for c in (await user.call("GET", "/counter/unread"))["chats"]}
        for chat in traffic.chats.values():
            if (user.id, chat) in truth:
                assert per_chat.get(chat, 0) == truth[(user.id, chat)], f"seed {seed}: counter != truth"

    # Every acknowledged message stored exactly once, in the order it was acknowledged.
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    stored = await conn.fetch("SELECT id, chat_id FROM messages ORDER BY chat_id, seq")
    await conn.close()
    assert sorted(str(r["id"]) for r in stored) == sorted(traffic.acked)

    # Delivered live or counted, never both, never neither: read each message alone.
    for user in users:
        live = traffic.received_live(user.id)
        for other in users:
            if other is user:
                continue
            chat = traffic.chat_of(user, other)
            for offset, message_id in enumerate(traffic.order.get(chat, [])):
                if traffic.acked[message_id][1] == user.id or (user.id, message_id) in traffic.read_during_run:
                    continue
                page = await user.call("GET", "/messenger/messages", chat_id=chat, offset=str(offset), limit="1")
                counted = page["new_messages"] == 1
                assert counted != (message_id in live), (
                    f"seed {seed}: message {message_id} live={message_id in live} counted={counted}")
    for sockets in traffic.sockets.values():
        for socket in sockets:
            await socket.close()
