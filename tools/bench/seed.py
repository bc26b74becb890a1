"""What a scenario needs before it measures anything.

Accounts are written straight into `users` (with a real scrypt hash, so signing in
would work) and their access tokens are minted with the run's JWT secret: signing
up and in costs two scrypt hashes by design (tens of ms of CPU each), which would
spend minutes making 10,000 users and measure nothing the scenarios are about.
Chats are created and messages sent through the public API. The reconcile world
(a million pairs) is COPYed into the messenger's and counter's tables directly.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import aiohttp
import asyncpg

from gateway.passwords import hash_sync
from gateway.tokens import Tokens

PASSWORD = "bench-password-1234"
TOKEN_TTL_S = 4 * 3600


@dataclass(frozen=True)
class Account:
    id: str
    token: str


async def accounts(database_url: str, jwt_secret: str, n: int, tag: str) -> list[Account]:
    """n users COPYed into `users`, each with an access token good for a few hours."""
    ids = [uuid.uuid4() for _ in range(n)]
    password_hash = hash_sync(PASSWORD)
    birthday = datetime(1994, 4, 10, tzinfo=timezone.utc)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "users", columns=["id", "email", "password_hash", "name", "surname", "birthday", "sex", "city", "interests"],
            records=[(i, f"bench-{tag}-{i.hex[:12]}@example.com", password_hash, "Bench", f"User{k}", birthday, "male",
                      "Nowhere", "benchmarks") for k, i in enumerate(ids)])
    finally:
        await conn.close()
    tokens = Tokens(jwt_secret, TOKEN_TTL_S, TOKEN_TTL_S)
    return [Account(str(i), tokens.issue(str(i)).access_token) for i in ids]


async def chats(base_url: str, pairs: list[tuple[Account, Account]], parallel: int = 16) -> list[str]:
    """POST /messenger/create-chat for each (user, companion); returns the chat ids in order."""
    gate = asyncio.Semaphore(parallel)
    async with aiohttp.ClientSession() as http:
        async def one(user: Account, companion: Account) -> str:
            async with gate:
                async with http.post(f"{base_url}/messenger/create-chat", json={"companion_id": companion.id},
                                     headers={"Authorization": user.token}) as response:
                    body = await response.json()
                    if response.status not in (200, 201):
                        raise RuntimeError(f"create-chat answered {response.status}: {body}")
                    return body["chat_id"]

        return list(await asyncio.gather(*(one(u, c) for u, c in pairs)))


async def fill_chat(base_url: str, sender: Account, chat_id: str, total: int, per_frame: int = 100) -> None:
    """`total` messages from `sender` over the WebSocket, `per_frame` to a frame, each frame acked."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base_url.replace("http", "ws", 1) + "/messenger/ws", params={"token": sender.token})
        try:
            sent = 0
            while sent < total:
                n = min(per_frame, total - sent)
                await ws.send_json({"topic": "messenger", "action": "send-message", "payload": {
                    "chat_id": chat_id, "messages": [{"text": f"history {sent + k + 1}", "status": "created"}
                                                     for k in range(n)]}})
                while True:
                    frame = await ws.receive_json(timeout=30)
                    if frame.get("action") == "send-message-ack":
                        break
                    if frame.get("topic") == "error":
                        raise RuntimeError(f"filling a chat failed: {frame}")
                sent += n
        finally:
            await ws.close()


async def send_each(base_url: str, sender: Account, chat_ids: list[str]) -> None:
    """One message from `sender` into each of its chats, over one WebSocket."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base_url.replace("http", "ws", 1) + "/messenger/ws", params={"token": sender.token})
        try:
            for chat_id in chat_ids:
                await ws.send_json({"topic": "messenger", "action": "send-message", "payload": {
                    "chat_id": chat_id, "messages": [{"text": "hello", "status": "created"}]}})
                while True:
                    frame = await ws.receive_json(timeout=30)
                    if frame.get("action") == "send-message-ack":
                        break
                    if frame.get("topic") == "error":
                        raise RuntimeError(f"sending failed: {frame}")
        finally:
            await ws.close()


# ---------------------------------------------------------------- the reconcile world


@dataclass
class World:
    pairs: int
    users: int
    chats: int
    inbox_rows: int
    drifted: int


def _uuid(prefix: int, n: int) -> uuid.UUID:
    return uuid.UUID(int=(prefix << 96) | (n << 16) | 0x4000)


async def reconcile_world(database_url: str, pairs: int, drift_fraction: float, seed: int = 7) -> World:
    """`pairs` (user, chat) pairs in 1:1 chats: chats, chat_members, counters and inbox COPYed in.

    Each user has `CHATS_PER_USER` chats with the users after it (a ring), so there are
    pairs/2 chats and pairs/CHATS_PER_USER users. A pair has 0..9 unread messages
    (inbox rows, none pending); its counter matches at the same version except for
    `drift_fraction` of them, off by 1..3. Every change time is a day old, as if the
    last activity were long past, so an incremental run sees only what is touched later.
    """
    rng = random.Random(seed)
    neighbours = CHATS_PER_USER // 2
    n_users = pairs // CHATS_PER_USER
    users = [_uuid(0xB0, i) for i in range(n_users)]
    old = datetime.now(timezone.utc) - timedelta(days=1)
    chat_rows, member_rows, counter_rows, inbox_rows = [], [], [], []
    drifted = 0
    for i in range(n_users):
        for d in range(1, neighbours + 1):
            j = (i + d) % n_users
            chat = _uuid(0xC0, i * neighbours + d)
            a, b = sorted((users[i], users[j]), key=str)
            chat_rows.append((chat, f"{a}:{b}", old, 0))
            for user in (a, b):
                unread = rng.choice(UNREAD_MIX)
                version = unread + rng.randrange(0, 4)
                member_rows.append((chat, user, old, version, old))
                counted = unread
                if rng.random() < drift_fraction:
                    counted = max(0, unread + rng.choice((-3, -2, -1, 1, 2, 3)))
                    drifted += counted != unread
                counter_rows.append((user, chat, counted, version, old))
                inbox_rows.extend((user, chat, seq, False, old) for seq in range(1, unread + 1))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table("chats", columns=["id", "pair_key", "create_time", "last_seq"],
                                         records=chat_rows)
        await conn.copy_records_to_table("chat_members", columns=["chat_id", "user_id", "joined_at", "unread_version",
                                                                  "unread_changed_at"], records=member_rows)
        await conn.copy_records_to_table("counters", columns=["user_id", "chat_id", "unread", "version", "updated_at"],
                                         records=counter_rows)
        await conn.copy_records_to_table("inbox", columns=["user_id", "chat_id", "seq", "pending", "created_at"],
                                         records=inbox_rows)
        await conn.execute("ANALYZE chats; ANALYZE chat_members; ANALYZE counters; ANALYZE inbox; ANALYZE counter_outbox")
    finally:
        await conn.close()
    return World(len(member_rows), n_users, len(chat_rows), len(inbox_rows), drifted)


CHATS_PER_USER = 20
# Most pairs have nothing unread; some a few; a few many.
UNREAD_MIX = (0,) * 6 + (1, 1, 2, 3, 5, 9)


async def inject_drift(database_url: str, fraction: float, seed: int) -> int:
    """Knocks `fraction` of the counters off by one without touching their versions or times."""
    conn = await asyncpg.connect(database_url)
    try:
        status = await conn.execute(
            "UPDATE counters SET unread = unread + 1 WHERE (hashtext(user_id::text || chat_id::text || $2) & 2147483647) % 100000 < $1",
            int(fraction * 100000), str(seed))
        return int(status.split()[-1])
    finally:
        await conn.close()


async def age_everything(database_url: str) -> None:
    """Moves every change time a day back: the past activity (and earlier repairs) is long over."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE counters SET updated_at = now() - interval '1 day' WHERE updated_at > now() - interval '1 day'")
        await conn.execute("UPDATE chat_members SET unread_changed_at = now() - interval '1 day' "
                           "WHERE unread_changed_at > now() - interval '1 day'")
    finally:
        await conn.close()


async def touch(database_url: str, fraction: float, seed: int, drift_fraction: float = 0.01) -> int:
    """A new message in `fraction` of the pairs, applied to truth and counter alike (a few counters
    drift), stamped now: what an incremental run must look at."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            rows = await conn.fetch(
                """
                WITH picked AS (
                    SELECT chat_id, user_id FROM chat_members
                    WHERE (hashtext(user_id::text || chat_id::text || $2) & 2147483647) % 1000000 < $1
                ), bumped AS (
                    UPDATE chat_members m SET unread_version = unread_version + 1, unread_changed_at = now()
                    FROM picked p WHERE m.chat_id = p.chat_id AND m.user_id = p.user_id
                    RETURNING m.chat_id, m.user_id, m.unread_version
                ), ins AS (
                    INSERT INTO inbox (user_id, chat_id, seq, pending)
                    SELECT user_id, chat_id, 1000 + unread_version, false FROM bumped
                )
                UPDATE counters c SET unread = c.unread + 1 + (CASE WHEN random() < $3 THEN 1 ELSE 0 END),
                                      version = b.unread_version, updated_at = now()
                FROM bumped b WHERE c.user_id = b.user_id AND c.chat_id = b.chat_id
                RETURNING c.user_id
                """, int(fraction * 1_000_000), str(seed), drift_fraction)
        return len(rows)
    finally:
        await conn.close()
