"""The truth about who has read what, in Postgres.

A message is unread by a recipient while an `inbox` row for it exists. Rows stored
for a recipient with a live socket start `pending` (not counted) until the
delivery is confirmed (row deleted: read) or given up (row counted). Every
transaction that changes the counted rows of a (user, chat) pair also bumps that
member's `unread_version` and writes the delta to `counter_outbox`, so the counter
service can follow the truth exactly, in order and idempotently.
"""

from __future__ import annotations

import uuid
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.errors import forbidden, invalid, not_found


@dataclass(frozen=True)
class StoredMessage:
    id: str
    chat_id: str
    user_id: str
    text: str
    status: str
    create_time: datetime
    seq: int


@dataclass(frozen=True)
class CounterEvent:
    id: int
    user_id: str
    chat_id: str
    delta: int
    version: int


@dataclass(frozen=True)
class NewMessage:
    text: str
    status: str
    client_id: str | None


@dataclass(frozen=True)
class SendResult:
    messages: list[StoredMessage]
    recipient_ids: list[str]
    events: list[CounterEvent]
    stored_seqs: list[int]


@dataclass(frozen=True)
class Page:
    total: int
    messages: list[StoredMessage]
    unread: int
    new_messages: int
    events: list[CounterEvent]


def pair_key(a: str, b: str) -> str:
    return ":".join(sorted((a, b)))


def _message(row: asyncpg.Record) -> StoredMessage:
    return StoredMessage(str(row["id"]), str(row["chat_id"]), str(row["user_id"]), row["text"], row["status"],
                         row["create_time"], row["seq"])


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise invalid(f"{what} must be a UUID") from None


_MESSAGE_COLUMNS = "id, chat_id, user_id, text, status, create_time, seq"


def _unique_fresh(messages: list[NewMessage], existing: dict[str, StoredMessage]) -> list[NewMessage]:
    """The messages to insert: not stored before, and a key repeated in one frame only once."""
    keys: set[str] = set(existing)
    fresh = []
    for m in messages:
        if m.client_id is None or m.client_id not in keys:
            fresh.append(m)
            if m.client_id is not None:
                keys.add(m.client_id)
    return fresh


def _in_request_order(messages: list[NewMessage], existing: dict[str, StoredMessage],
                      fresh: list[NewMessage], stored: list[StoredMessage]) -> list[StoredMessage]:
    by_key = dict(existing)
    by_key.update((m.client_id, s) for m, s in zip(fresh, stored) if m.client_id is not None)
    unkeyed = iter(s for m, s in zip(fresh, stored) if m.client_id is None)
    return [next(unkeyed) if m.client_id is None else by_key[m.client_id] for m in messages]


async def _record_changes(conn: asyncpg.Connection, chat_id: uuid.UUID, deltas: dict[uuid.UUID, int]) -> list[CounterEvent]:
    """Bumps each member's version and writes the outbox: the commit point of a counter change.

    Members are locked in a fixed order so concurrent transactions cannot deadlock.
    """
    users = sorted(u for u, d in deltas.items() if d)
    if not users:
        return []
    rows = await conn.fetch(
        """
        WITH bumped AS (
            UPDATE chat_members SET unread_version = unread_version + 1, unread_changed_at = now()
            WHERE chat_id = $1 AND user_id = ANY($2::uuid[])
            RETURNING user_id, unread_version
        )
        INSERT INTO counter_outbox (user_id, chat_id, delta, version)
        SELECT b.user_id, $1, d.delta, b.unread_version
        FROM bumped b JOIN unnest($2::uuid[], $3::bigint[]) AS d(user_id, delta) USING (user_id)
        RETURNING id, user_id, chat_id, delta, version
        """,
        chat_id, users, [deltas[u] for u in users],
    )
    return [CounterEvent(r["id"], str(r["user_id"]), str(r["chat_id"]), r["delta"], r["version"]) for r in rows]


# `Truth.send` without idempotency keys, as one statement: lock the chat row and take the
# next seqs (only if the sender is a member), store the messages, put a copy in every
# other member's inbox (pending for the live ones), and for each recipient that is not
# live bump the member's version and write the outbox event. Rows come back tagged:
# m = a stored message, r = a recipient, e = an event (its version in `seq`).
_SEND_UNKEYED = """
WITH chat AS (
    UPDATE chats SET last_seq = last_seq + cardinality($3::text[])
    WHERE id = $1 AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = $1 AND user_id = $2)
    RETURNING last_seq - cardinality($3::text[]) AS base
), stored AS (
    INSERT INTO messages (id, chat_id, seq, user_id, text, status)
    SELECT t.id, $1, chat.base + t.n, $2, t.text, t.status
    FROM chat, unnest($5::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS t(id, text, status, n)
    RETURNING id, text, status, create_time, seq
), recipients AS (
    SELECT m.user_id FROM chat_members m WHERE m.chat_id = $1 AND m.user_id <> $2 AND EXISTS (SELECT 1 FROM chat)
), boxed AS (
    INSERT INTO inbox (user_id, chat_id, seq, pending)
    SELECT r.user_id, $1, s.seq, r.user_id = ANY($6::uuid[]) FROM recipients r CROSS JOIN stored s
), bumped AS (
    UPDATE chat_members m SET unread_version = m.unread_version + 1, unread_changed_at = now()
    FROM recipients r
    WHERE m.chat_id = $1 AND m.user_id = r.user_id AND NOT m.user_id = ANY($6::uuid[])
    RETURNING m.user_id, m.unread_version
), events AS (
    INSERT INTO counter_outbox (user_id, chat_id, delta, version)
    SELECT user_id, $1, cardinality($3::text[]), unread_version FROM bumped
    RETURNING id, user_id, delta, version
)
SELECT 'm' AS kind, id, NULL::uuid AS user_id, text, status, create_time, seq, NULL::bigint AS event_id,
       NULL::bigint AS delta FROM stored
UNION ALL SELECT 'r', NULL, user_id, NULL, NULL, NULL, NULL, NULL, NULL FROM recipients
UNION ALL SELECT 'e', NULL, user_id, NULL, NULL, NULL, version, id, delta FROM events
"""


# A confirmed live delivery as one statement: the copies are deleted (read), and if some
# had been counted meanwhile (the sweeper gave up on them) the change is recorded as in
# `_record_changes`.
_CONFIRM_DELIVERED = """
WITH gone AS (
    DELETE FROM inbox WHERE user_id = $1 AND chat_id = $2 AND seq = ANY($3::bigint[]) RETURNING pending
), counted AS (
    SELECT count(*) FILTER (WHERE NOT pending) AS counted FROM gone
), bumped AS (
    UPDATE chat_members SET unread_version = unread_version + 1, unread_changed_at = now()
    WHERE chat_id = $2 AND user_id = $1 AND (SELECT counted FROM counted) > 0
    RETURNING unread_version
)
INSERT INTO counter_outbox (user_id, chat_id, delta, version)
SELECT $1, $2, -(SELECT counted FROM counted), unread_version FROM bumped
RETURNING id, user_id, chat_id, delta, version
"""


class Truth:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create_chat(self, user_id: str, companion_id: str) -> tuple[str, bool, list[str]]:
        user, companion = parse_uuid(user_id, "user_id"), parse_uuid(companion_id, "companion_id")
        if user == companion:
            raise invalid("cannot create a chat with yourself")
        key = pair_key(str(user), str(companion))
        async with self.pool.acquire() as conn, conn.transaction():
            chat_id = await conn.fetchval(
                "INSERT INTO chats (id, pair_key) VALUES ($1, $2) ON CONFLICT (pair_key) DO NOTHING RETURNING id",
                uuid.uuid4(), key)
            created = chat_id is not None
            if created:
                await conn.executemany("INSERT INTO chat_members (chat_id, user_id) VALUES ($1, $2)",
                                       [(chat_id, user), (chat_id, companion)])
            else:
                chat_id = await conn.fetchval("SELECT id FROM chats WHERE pair_key = $1", key)
        return str(chat_id), created, sorted([str(user), str(companion)])

    async def list_chats(self, user_id: str, offset: int, limit: int) -> tuple[int, list[tuple[str, datetime, list[str]]]]:
        user = parse_uuid(user_id, "user_id")
        async with self.pool.acquire() as conn:
            total = await conn.fetchval("SELECT count(*) FROM chat_members WHERE user_id = $1", user)
            rows = await conn.fetch(
                """
                SELECT c.id, c.create_time,
                       (SELECT array_agg(o.user_id ORDER BY o.user_id) FROM chat_members o WHERE o.chat_id = c.id) AS members
                FROM chat_members m JOIN chats c ON c.id = m.chat_id
                WHERE m.user_id = $1
                ORDER BY m.joined_at DESC, c.id
                OFFSET $2 LIMIT $3
                """, user, offset, limit)
        return total, [(str(r["id"]), r["create_time"], [str(u) for u in r["members"]]) for r in rows]

    async def chat_members(self, chat_id: str) -> list[str]:
        chat = parse_uuid(chat_id, "chat_id")
        rows = await self.pool.fetch("SELECT user_id FROM chat_members WHERE chat_id = $1 ORDER BY user_id", chat)
        return [str(r["user_id"]) for r in rows]

    async def send(self, sender_id: str, chat_id: str, messages: list[NewMessage],
                   live_recipient_ids: Iterable[str]) -> SendResult:
        sender, chat = parse_uuid(sender_id, "sender_id"), parse_uuid(chat_id, "chat_id")
        if not messages:
            raise invalid("messages must not be empty")
        live = {parse_uuid(u, "live_recipient_id") for u in live_recipient_ids}
        if all(m.client_id is None for m in messages):
            return await self._send_unkeyed(sender, chat, messages, live)
        async with self.pool.acquire() as conn, conn.transaction():
            # Locking the chat row orders concurrent sends and makes the idempotency check race-free.
            last_seq = await conn.fetchval("SELECT last_seq FROM chats WHERE id = $1 FOR UPDATE", chat)
            if last_seq is None:
                raise not_found("chat not found")
            members = [r["user_id"] for r in await conn.fetch("SELECT user_id FROM chat_members WHERE chat_id = $1", chat)]
            if sender not in members:
                raise forbidden("not a member of this chat")
            recipients = sorted(m for m in members if m != sender)
            existing = await self._already_stored(conn, chat, sender, messages)
            fresh = _unique_fresh(messages, existing)
            stored = await self._insert(conn, chat, sender, last_seq, fresh) if fresh else []
            events = await self._deliver_to_inboxes(conn, chat, recipients, live, [m.seq for m in stored])
        return SendResult(_in_request_order(messages, existing, fresh, stored), [str(r) for r in recipients],
                          events, [m.seq for m in stored])

    async def _send_unkeyed(self, sender: uuid.UUID, chat: uuid.UUID, messages: list[NewMessage],
                            live: set[uuid.UUID]) -> SendResult:
        """`send` without idempotency keys (nothing to look up first): the same steps in one
        statement, so one round trip. The chat row's lock orders concurrent sends as in `send`."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_SEND_UNKEYED, chat, sender, [m.text for m in messages],
                                    [m.status for m in messages], [uuid.uuid4() for _ in messages], list(live))
            if not rows:
                exists = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1)", chat)
                raise forbidden("not a member of this chat") if exists else not_found("chat not found")
        stored = sorted((StoredMessage(str(r["id"]), str(chat), str(sender), r["text"], r["status"], r["create_time"],
                                       r["seq"]) for r in rows if r["kind"] == "m"), key=lambda m: m.seq)
        recipients = sorted(r["user_id"] for r in rows if r["kind"] == "r")
        events = sorted((CounterEvent(r["event_id"], str(r["user_id"]), str(chat), r["delta"], r["seq"])
                         for r in rows if r["kind"] == "e"), key=lambda e: e.user_id)
        return SendResult(stored, [str(r) for r in recipients], events, [m.seq for m in stored])

    async def _already_stored(self, conn: asyncpg.Connection, chat: uuid.UUID, sender: uuid.UUID,
                              messages: list[NewMessage]) -> dict[str, StoredMessage]:
        keys = [m.client_id for m in messages if m.client_id is not None]
        if not keys:
            return {}
        rows = await conn.fetch(
            f"SELECT {_MESSAGE_COLUMNS}, client_id FROM messages WHERE chat_id = $1 AND user_id = $2 AND client_id = ANY($3::text[])",
            chat, sender, keys)
        return {r["client_id"]: _message(r) for r in rows}

    async def _insert(self, conn: asyncpg.Connection, chat: uuid.UUID, sender: uuid.UUID, last_seq: int,
                      fresh: list[NewMessage]) -> list[StoredMessage]:
        seqs = list(range(last_seq + 1, last_seq + 1 + len(fresh)))
        await conn.execute("UPDATE chats SET last_seq = $2 WHERE id = $1", chat, seqs[-1])
        rows = await conn.fetch(
            f"""
            INSERT INTO messages (id, chat_id, seq, user_id, text, status, client_id)
            SELECT id, $1, seq, $2, text, status, client_id
            FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS t(id, seq, text, status, client_id)
            RETURNING {_MESSAGE_COLUMNS}
            """,
            chat, sender, [uuid.uuid4() for _ in fresh], seqs, [m.text for m in fresh],
            [m.status for m in fresh], [m.client_id for m in fresh])
        return sorted((_message(r) for r in rows), key=lambda m: m.seq)

    async def _deliver_to_inboxes(self, conn: asyncpg.Connection, chat: uuid.UUID, recipients: list[uuid.UUID],
                                  live: set[uuid.UUID], seqs: list[int]) -> list[CounterEvent]:
        seqs = sorted(set(seqs))
        if not seqs or not recipients:
            return []
        users = [r for r in recipients for _ in seqs]
        await conn.execute(
            """
            INSERT INTO inbox (user_id, chat_id, seq, pending)
            SELECT user_id, $1, seq, pending FROM unnest($2::uuid[], $3::bigint[], $4::bool[]) AS t(user_id, seq, pending)
            """,
            chat, users, seqs * len(recipients), [u in live for u in users])
        return await _record_changes(conn, chat, {r: len(seqs) for r in recipients if r not in live})

    async def _member_or_raise(self, conn: asyncpg.Connection, chat: uuid.UUID, user: uuid.UUID) -> int:
        """The chat's last_seq, after checking the user may read it."""
        row = await conn.fetchrow(
            "SELECT c.last_seq, m.user_id IS NOT NULL AS member FROM chats c "
            "LEFT JOIN chat_members m ON m.chat_id = c.id AND m.user_id = $2 WHERE c.id = $1", chat, user)
        if row is None:
            raise not_found("chat not found")
        if not row["member"]:
            raise forbidden("not a member of this chat")
        return row["last_seq"]

    async def _mark_read(self, conn: asyncpg.Connection, chat: uuid.UUID, user: uuid.UUID,
                         condition: str, *args) -> tuple[int, list[CounterEvent]]:
        """Deletes the user's inbox rows matching `condition`; returns how many and the counter events."""
        rows = await conn.fetch(
            f"DELETE FROM inbox WHERE user_id = $1 AND chat_id = $2 AND {condition} RETURNING pending", user, chat, *args)
        counted = sum(1 for r in rows if not r["pending"])
        return len(rows), await _record_changes(conn, chat, {user: -counted})

    async def _unread(self, conn: asyncpg.Connection, chat: uuid.UUID, user: uuid.UUID) -> int:
        return await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE user_id = $1 AND chat_id = $2 AND NOT pending", user, chat)

    async def page(self, user_id: str, chat_id: str, offset: int, limit: int) -> Page:
        user, chat = parse_uuid(user_id, "user_id"), parse_uuid(chat_id, "chat_id")
        async with self.pool.acquire() as conn, conn.transaction():
            total = await self._member_or_raise(conn, chat, user)
            # Messages are numbered 1..total without gaps: offset N starts after seq N.
            rows = await conn.fetch(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE chat_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                chat, offset, min(offset + limit, total))
            messages = [_message(r) for r in rows]
            if messages:
                read, events = await self._mark_read(conn, chat, user, "seq BETWEEN $3 AND $4",
                                                     messages[0].seq, messages[-1].seq)
            else:
                read, events = 0, []
            unread = await self._unread(conn, chat, user)
        return Page(total, messages, unread, read, events)

    async def mark_read_up_to(self, user_id: str, chat_id: str, message_id: str) -> tuple[int, int, list[CounterEvent]]:
        user, chat = parse_uuid(user_id, "user_id"), parse_uuid(chat_id, "chat_id")
        message = parse_uuid(message_id, "up_to_message_id")
        async with self.pool.acquire() as conn, conn.transaction():
            await self._member_or_raise(conn, chat, user)
            seq = await conn.fetchval("SELECT seq FROM messages WHERE id = $1 AND chat_id = $2", message, chat)
            if seq is None:
                raise not_found("message not found in this chat")
            marked, events = await self._mark_read(conn, chat, user, "seq <= $3", seq)
            unread = await self._unread(conn, chat, user)
        return unread, marked, events

    async def resolve_delivery(self, user_id: str, chat_id: str, seqs: list[int], delivered: bool) -> list[CounterEvent]:
        """Delivered: the pending copies become read. Not delivered: they start counting."""
        user, chat = parse_uuid(user_id, "user_id"), parse_uuid(chat_id, "chat_id")
        if delivered:
            # Rows the sweeper already counted are read now too: they were delivered after all.
            # One statement (its own transaction) deletes them and records the change, if any.
            rows = await self.pool.fetch(_CONFIRM_DELIVERED, user, chat, seqs)
            return [CounterEvent(r["id"], str(r["user_id"]), str(r["chat_id"]), r["delta"], r["version"]) for r in rows]
        async with self.pool.acquire() as conn, conn.transaction():
            counted = await conn.fetchval(
                """
                WITH settled AS (
                    UPDATE inbox SET pending = false
                    WHERE user_id = $1 AND chat_id = $2 AND seq = ANY($3::bigint[]) AND pending
                    RETURNING 1
                ) SELECT count(*) FROM settled
                """, user, chat, seqs)
            return await _record_changes(conn, chat, {user: counted})

    async def expire_deliveries(self, older_than_ms: int, limit: int) -> list[CounterEvent]:
        """Counts pending copies no gateway confirmed in time (a socket closed mid-delivery, a crash)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                WITH stale AS (
                    SELECT user_id, chat_id, seq FROM inbox
                    WHERE pending AND created_at < now() - make_interval(secs => $1::float8 / 1000)
                    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
                )
                UPDATE inbox i SET pending = false FROM stale
                WHERE i.user_id = stale.user_id AND i.chat_id = stale.chat_id AND i.seq = stale.seq
                RETURNING i.user_id, i.chat_id
                """, older_than_ms, limit)
            per_chat: dict[uuid.UUID, Tally] = {}
            for r in rows:
                per_chat.setdefault(r["chat_id"], Tally())[r["user_id"]] += 1
            events = []
            for chat in sorted(per_chat):
                events += await _record_changes(conn, chat, dict(per_chat[chat]))
        return events

    async def outbox(self, older_than_ms: int, limit: int) -> list[CounterEvent]:
        rows = await self.pool.fetch(
            """
            SELECT id, user_id, chat_id, delta, version FROM counter_outbox
            WHERE created_at < now() - make_interval(secs => $1::float8 / 1000)
            ORDER BY id LIMIT $2
            """, older_than_ms, limit)
        return [CounterEvent(r["id"], str(r["user_id"]), str(r["chat_id"]), r["delta"], r["version"]) for r in rows]

    async def delete_outbox(self, ids: list[int]) -> int:
        result = await self.pool.execute("DELETE FROM counter_outbox WHERE id = ANY($1::bigint[])", ids)
        return int(result.split()[-1])

    async def unread_truth(self, keys: list[tuple[str, str]]) -> list[tuple[str, str, int, int]]:
        """(user, chat, unread, version) read in one snapshot, so the count is exactly the one at that version."""
        users = [parse_uuid(u, "user_id") for u, _ in keys]
        chats = [parse_uuid(c, "chat_id") for _, c in keys]
        rows = await self.pool.fetch(
            """
            SELECT m.user_id, m.chat_id, m.unread_version,
                   (SELECT count(*) FROM inbox i WHERE i.user_id = m.user_id AND i.chat_id = m.chat_id AND NOT i.pending) AS unread
            FROM chat_members m JOIN unnest($1::uuid[], $2::uuid[]) AS k(user_id, chat_id) USING (user_id, chat_id)
            """, users, chats)
        return [(str(r["user_id"]), str(r["chat_id"]), r["unread"], r["unread_version"]) for r in rows]
