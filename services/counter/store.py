"""Where the counters live, and the one place they change.

Postgres holds every counter with the version of the truth it reflects; an update
is a compare-and-set on that version, so an event applies once, in order, or not
at all. Redis holds a copy per user (a hash: chat -> "unread:version", plus
`_loaded` once the whole user is in), written only when the version is newer,
so a stale writer can never roll a counter back and a lost Redis is rebuilt from
Postgres on the next read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from prometheus_client import Counter as Metric
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CACHE_HITS = Metric("counter_cache_hits_total", "Counter reads served from Redis")
CACHE_MISSES = Metric("counter_cache_misses_total", "Counter reads that loaded the user from Postgres")
EVENTS_APPLIED = Metric("counter_events_applied_total", "Outbox events applied to counters")
EVENTS_DUPLICATE = Metric("counter_events_duplicate_total", "Outbox events already applied before")
REBUILDS = Metric("counter_rebuilds_total", "Counters rebuilt from the truth after an out-of-order event")
CACHE_ERRORS = Metric("counter_cache_errors_total", "Redis calls that failed (Postgres answered instead)")

LOADED = "_loaded"


@dataclass(frozen=True)
class Key:
    user_id: str
    chat_id: str


@dataclass(frozen=True)
class Event:
    key: Key
    delta: int
    version: int


@dataclass(frozen=True)
class Value:
    key: Key
    unread: int
    version: int


@dataclass
class Applied:
    changed: list[Value]
    totals: dict[str, int]
    duplicates: int = 0
    rebuilt: int = 0


TruthSource = Callable[[list[Key]], Awaitable[list[Value]]]


def cache_key(user_id: str) -> str:
    return f"unread:{user_id}"


# KEYS[1]: a user's hash. ARGV: ttl, mark-loaded flag, then (chat, unread, version) triples.
# Returns the user's total, or -1 when the hash does not hold all of the user's chats.
_WRITE_IF_NEWER = """
for i = 3, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if not current or tonumber(ARGV[i + 2]) > tonumber(string.match(current, ':(%-?%d+)$')) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ':' .. ARGV[i + 2])
  end
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], '_loaded', '1') end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then return -1 end
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if fields[i] ~= '_loaded' then total = total + tonumber(string.match(fields[i + 1], '^(%-?%d+)')) end
end
return total
"""

# Applies each key's run (delta, first version, last version) where the counter is at the
# version just before it (compare-and-set); a run starting at version 1 whose counter has
# no row yet becomes the row. One statement: one round trip, one transaction.
_APPLY_RUNS_AND_FIRST = """
WITH r AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[])
         AS r(user_id, chat_id, delta, first_version, last_version)
), updated AS (
    UPDATE counters c SET unread = c.unread + r.delta, version = r.last_version, updated_at = now()
    FROM r WHERE c.user_id = r.user_id AND c.chat_id = r.chat_id AND c.version = r.first_version - 1
    RETURNING c.user_id, c.chat_id, c.unread, c.version
), inserted AS (
    INSERT INTO counters (user_id, chat_id, unread, version)
    SELECT r.user_id, r.chat_id, r.delta, r.last_version FROM r
    WHERE r.first_version = 1
      AND NOT EXISTS (SELECT 1 FROM updated u WHERE u.user_id = r.user_id AND u.chat_id = r.chat_id)
    ON CONFLICT DO NOTHING
    RETURNING user_id, chat_id, unread, version
)
SELECT * FROM updated UNION ALL SELECT * FROM inserted
"""

# A missing counter is a member whose chat began at version 0 with nothing unread.
_INSERT_FIRST_RUNS = """
INSERT INTO counters (user_id, chat_id, unread, version)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[])
ON CONFLICT DO NOTHING
RETURNING user_id, chat_id, unread, version
"""

# Sets a counter to the truth at a version unless it already reflects a later one:
# a racing increment or read (a higher version) is never overwritten.
_SET_TO_TRUTH = """
INSERT INTO counters AS c (user_id, chat_id, unread, version)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[])
ON CONFLICT (user_id, chat_id) DO UPDATE SET unread = excluded.unread, version = excluded.version, updated_at = now()
WHERE c.version {op} excluded.version
RETURNING c.user_id, c.chat_id, c.unread, c.version
"""


def _value(row: asyncpg.Record) -> Value:
    return Value(Key(str(row["user_id"]), str(row["chat_id"])), row["unread"], row["version"])


def _columns(values: Iterable[tuple]) -> list[list]:
    return [list(column) for column in zip(*values)] or [[], [], [], []]


class CounterStore:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis, truth: TruthSource | None = None,
                 cache_ttl_s: int = 86400) -> None:
        self.pool = pool
        self.redis = redis
        self.truth = truth
        self.cache_ttl_s = cache_ttl_s
        self._write_if_newer = redis.register_script(_WRITE_IF_NEWER)

    async def init(self, keys: list[Key]) -> None:
        rows = await self.pool.fetch(_INSERT_FIRST_RUNS, *_columns((k.user_id, k.chat_id, 0, 0) for k in keys))
        await self._cache([_value(r) for r in rows])

    async def apply(self, events: list[Event]) -> Applied:
        """Applies outbox events: the only place a counter is incremented or decremented."""
        pending = _by_key(events)
        changed: dict[Key, Value] = {}
        duplicates = 0
        for _ in range(2):
            if not pending:
                break
            applied = await self._apply_runs({k: _leading_run(evs) for k, evs in pending.items()})
            changed.update(applied)
            current = {**applied, **await self._versions([k for k in pending if k not in applied])}
            for key in list(pending):
                # A key not in `current` has no row: version 0.
                version = current[key].version if key in current else 0
                later = [e for e in pending[key] if e.version > version]
                if key not in applied:
                    duplicates += len(pending[key]) - len(later)
                if later:
                    pending[key] = later
                else:
                    del pending[key]
        # What is still pending follows a gap: an earlier event is late or lost.
        rebuilt = await self.set_to_truth(list(pending)) if pending else []
        changed.update((v.key, v) for v in rebuilt)
        EVENTS_APPLIED.inc(len(events) - duplicates)
        EVENTS_DUPLICATE.inc(duplicates)
        REBUILDS.inc(len(rebuilt))
        totals = await self._cache(list(changed.values()))
        return Applied(list(changed.values()), totals, duplicates, len(rebuilt))

    async def _apply_runs(self, runs: dict[Key, tuple[int, int, int]]) -> dict[Key, Value]:
        # One statement, so one round trip and its own transaction: the compare-and-set
        # update, then the first runs of counters that have no row yet. Keys in a fixed
        # order, so concurrent batches tend to lock rows in the same order.
        columns = _columns((k.user_id, k.chat_id, *runs[k]) for k in sorted(runs, key=lambda k: (k.user_id, k.chat_id)))
        return {v.key: v for v in map(_value, await self.pool.fetch(_APPLY_RUNS_AND_FIRST, *columns))}

    async def _versions(self, keys: list[Key]) -> dict[Key, Value]:
        if not keys:
            return {}
        rows = await self.pool.fetch(
            "SELECT c.user_id, c.chat_id, c.unread, c.version FROM counters c "
            "JOIN unnest($1::uuid[], $2::uuid[]) AS k(user_id, chat_id) USING (user_id, chat_id)",
            [k.user_id for k in keys], [k.chat_id for k in keys])
        return {v.key: v for v in map(_value, rows)}

    async def set_to_truth(self, keys: list[Key]) -> list[Value]:
        """Rebuilds counters from the messenger's truth, read at a version in one snapshot."""
        if self.truth is None:
            raise RuntimeError("this CounterStore has no truth source")
        truth = await self.truth(keys)
        await self.write_truth(truth, overwrite_same_version=False)
        return list((await self._versions(keys)).values())

    async def write_truth(self, values: list[Value], overwrite_same_version: bool) -> list[Value]:
        """Writes values read from the truth; with overwrite_same_version a counter that
        reflects the same version but a different number (corrupted) is fixed too."""
        if not values:
            return []
        sql = _SET_TO_TRUTH.format(op="<=" if overwrite_same_version else "<")
        rows = await self.pool.fetch(sql, *_columns((v.key.user_id, v.key.chat_id, v.unread, v.version) for v in values))
        written = [_value(r) for r in rows]
        if overwrite_same_version:
            # Same-version values cannot be written over in Redis: drop the users' copies instead.
            await self.forget({v.key.user_id for v in written})
        return written

    async def forget(self, user_ids: Iterable[str]) -> None:
        keys = [cache_key(u) for u in user_ids]
        if keys:
            try:
                await self.redis.delete(*keys)
            except RedisError:
                CACHE_ERRORS.inc()
                log.exception("could not drop cached counters")

    async def _cache(self, values: list[Value]) -> dict[str, int]:
        """Writes values to Redis; returns each user's total (from Postgres where Redis cannot say)."""
        per_user: dict[str, list[Value]] = {}
        for v in values:
            per_user.setdefault(v.key.user_id, []).append(v)
        totals: dict[str, int] = {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id, user_values in per_user.items():
                    await self._write_if_newer(keys=[cache_key(user_id)], args=_script_args(self.cache_ttl_s, False, user_values), client=pipe)
                results = await pipe.execute()
            totals = {u: t for u, t in zip(per_user, results) if t >= 0}
        except RedisError:
            CACHE_ERRORS.inc()
            log.exception("could not update cached counters")
        missing = [u for u in per_user if u not in totals]
        if missing:
            rows = await self.pool.fetch(
                "SELECT user_id, sum(unread)::bigint AS total FROM counters WHERE user_id = ANY($1::uuid[]) GROUP BY user_id",
                missing)
            totals.update((str(r["user_id"]), r["total"]) for r in rows)
        return totals

    async def unread(self, user_id: str) -> dict[str, int]:
        """Every chat's unread count for a user: Redis when it holds the user, else Postgres (then cached)."""
        try:
            cached = await self.redis.hgetall(cache_key(user_id))
        except RedisError:
            CACHE_ERRORS.inc()
            cached = {}
        if LOADED in cached:
            CACHE_HITS.inc()
            return {chat: int(value.split(":")[0]) for chat, value in cached.items() if chat != LOADED}
        CACHE_MISSES.inc()
        rows = await self.pool.fetch("SELECT user_id, chat_id, unread, version FROM counters WHERE user_id = $1", user_id)
        values = [_value(r) for r in rows]
        try:
            await self._write_if_newer(keys=[cache_key(user_id)], args=_script_args(self.cache_ttl_s, True, values))
        except RedisError:
            CACHE_ERRORS.inc()
            log.exception("could not cache counters")
        return {v.key.chat_id: v.unread for v in values}


def _script_args(ttl: int, mark_loaded: bool, values: list[Value]) -> list:
    args: list = [ttl, "1" if mark_loaded else "0"]
    for v in values:
        args += [v.key.chat_id, v.unread, v.version]
    return args


def _by_key(events: list[Event]) -> dict[Key, list[Event]]:
    grouped: dict[Key, dict[int, Event]] = {}
    for e in events:
        grouped.setdefault(e.key, {})[e.version] = e
    return {k: [evs[v] for v in sorted(evs)] for k, evs in grouped.items()}


def _leading_run(events: list[Event]) -> tuple[int, int, int]:
    """(sum of deltas, first version, last version) of the gap-free run the sorted events start with."""
    last = events[0].version
    total = events[0].delta
    for e in events[1:]:
        if e.version != last + 1:
            break
        last = e.version
        total += e.delta
    return total, events[0].version, last
