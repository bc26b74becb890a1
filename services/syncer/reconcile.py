"""The reconciliation run: compare every counter of a shard with the truth, and repair.

    python -m syncer reconcile --mode verify|repair [--shard I] [--shards N] [--full] [--max-repairs K]

Shards split users by a stable hash of the user id (`shard_of`), so N Job pods
(an Indexed Job: JOB_COMPLETION_INDEX) cover every pair exactly once. A run is
incremental unless --full: it checks the pairs whose truth or counter changed
since its shard's last successful run. A repair is a compare-and-set against the
version the truth was read at (`CounterStore.write_truth`), so it never
overwrites an increment or a read that raced with it, and two runs on one shard
at once do no harm.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from redis.exceptions import RedisError

from counter.store import CounterStore, Key, Value, cache_key

log = logging.getLogger(__name__)

PAGE = 5000
# changed_at is stamped when a transaction starts, not when it commits: look back
# this far past the last run so a slow commit is never skipped.
COMMIT_SLACK = "1 minute"
TERMINATION_LOG = Path("/dev/termination-log")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DRIFT = 3


def shard_of(user_id: str, shards: int) -> int:
    return int(hashlib.md5(user_id.encode()).hexdigest()[:8], 16) % shards


# The same function in SQL, so Postgres filters a shard without shipping every row.
SHARD_SQL = "((('x' || substr(md5({column}::text), 1, 8))::bit(32)::bigint) % {shards})"


@dataclass
class Summary:
    checked: int = 0
    drifted: int = 0
    repaired: int = 0
    cache_dropped: int = 0
    duration_s: float = 0.0
    shard: int = 0
    shards: int = 1
    mode: str = "verify"
    full: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.drifted > self.repaired else EXIT_OK


@dataclass(frozen=True)
class Check:
    key: Key
    truth: int
    truth_version: int
    counter: int
    counter_version: int
    in_flight: bool

    @property
    def drifted(self) -> bool:
        # A counter behind the truth with events still in the outbox is late, not wrong.
        lagging = self.in_flight and self.counter_version < self.truth_version
        return self.counter != self.truth and not lagging


_CHECK_COLUMNS = """
    m.user_id, m.chat_id, m.unread_version AS truth_version,
    (SELECT count(*) FROM inbox i WHERE i.user_id = m.user_id AND i.chat_id = m.chat_id AND NOT i.pending) AS truth,
    coalesce(c.unread, 0) AS counter, coalesce(c.version, 0) AS counter_version,
    EXISTS (SELECT 1 FROM counter_outbox o WHERE o.user_id = m.user_id AND o.chat_id = m.chat_id
            AND o.version > coalesce(c.version, 0)) AS in_flight
"""


def _check(row: asyncpg.Record) -> Check:
    return Check(Key(str(row["user_id"]), str(row["chat_id"])), row["truth"], row["truth_version"],
                 row["counter"], row["counter_version"], row["in_flight"])


class Reconciler:
    def __init__(self, pool: asyncpg.Pool, store: CounterStore, shard: int, shards: int) -> None:
        if not 0 <= shard < shards:
            raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
        self.pool = pool
        self.store = store
        self.shard = shard
        self.shards = shards

    async def run(self, repair: bool, full: bool, max_repairs: int | None = None) -> Summary:
        started = time.monotonic()
        started_at: datetime = await self.pool.fetchval("SELECT now()")
        since = None if full else await self.watermark()
        summary = Summary(shard=self.shard, shards=self.shards, mode="repair" if repair else "verify",
                          full=since is None)
        async for checks in (self._all_pages() if since is None else self._touched_pages(since)):
            await self._settle(checks, summary, repair, max_repairs)
            if since is None:
                summary.cache_dropped += await self._drop_stale_cache([c for c in checks if not c.drifted])
            print(f"shard {self.shard}/{self.shards}: checked {summary.checked}, drifted {summary.drifted}, "
                  f"repaired {summary.repaired}", file=sys.stderr, flush=True)
        summary.duration_s = round(time.monotonic() - started, 3)
        await self._record(summary, started_at)
        return summary

    async def _settle(self, checks: list[Check], summary: Summary, repair: bool, max_repairs: int | None) -> None:
        summary.checked += len(checks)
        drifted = [c for c in checks if c.drifted]
        summary.drifted += len(drifted)
        if not repair or not drifted:
            return
        budget = len(drifted) if max_repairs is None else max(0, max_repairs - summary.repaired)
        summary.repaired += await self._repair(drifted[:budget])

    async def _repair(self, drifted: list[Check]) -> int:
        """Writes the truth where the counter still reflects what was checked; re-checks racers once."""
        repaired = 0
        for _attempt in range(3):
            if not drifted:
                break
            written = await self.store.write_truth(
                [Value(c.key, c.truth, c.truth_version) for c in drifted], overwrite_same_version=True)
            done = {v.key for v in written}
            repaired += len(done)
            raced = [c.key for c in drifted if c.key not in done]
            drifted = [c for c in await self._check_keys(raced) if c.drifted] if raced else []
        if drifted:
            log.warning("%d counters kept changing during repair; the next run takes them", len(drifted))
        return repaired

    async def _all_pages(self):
        after = ("00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000")
        shard = SHARD_SQL.format(column="m.user_id", shards="$3")
        while True:
            rows = await self.pool.fetch(
                f"""
                SELECT {_CHECK_COLUMNS}
                FROM chat_members m LEFT JOIN counters c USING (user_id, chat_id)
                WHERE (m.user_id, m.chat_id) > ($1::uuid, $2::uuid) AND {shard} = $4
                ORDER BY m.user_id, m.chat_id LIMIT $5
                """, *after, self.shards, self.shard, PAGE)
            if not rows:
                return
            yield [_check(r) for r in rows]
            after = (rows[-1]["user_id"], rows[-1]["chat_id"])

    async def _touched_pages(self, since: datetime):
        shard = SHARD_SQL.format(column="user_id", shards="$2")
        rows = await self.pool.fetch(
            f"""
            SELECT user_id, chat_id FROM (
                SELECT user_id, chat_id FROM chat_members WHERE unread_changed_at > $1::timestamptz - interval '{COMMIT_SLACK}'
                UNION
                SELECT user_id, chat_id FROM counters WHERE updated_at > $1::timestamptz - interval '{COMMIT_SLACK}'
            ) touched WHERE {shard} = $3
            """, since, self.shards, self.shard)
        keys = [Key(str(r["user_id"]), str(r["chat_id"])) for r in rows]
        for start in range(0, len(keys), PAGE):
            yield await self._check_keys(keys[start:start + PAGE])

    async def _check_keys(self, keys: list[Key]) -> list[Check]:
        rows = await self.pool.fetch(
            f"""
            SELECT {_CHECK_COLUMNS}
            FROM chat_members m JOIN unnest($1::uuid[], $2::uuid[]) AS k(user_id, chat_id) USING (user_id, chat_id)
            LEFT JOIN counters c USING (user_id, chat_id)
            """, [k.user_id for k in keys], [k.chat_id for k in keys])
        return [_check(r) for r in rows]

    async def _drop_stale_cache(self, checks: list[Check]) -> int:
        """Drops cached users whose Redis copy disagrees with a correct Postgres counter."""
        try:
            async with self.store.redis.pipeline(transaction=False) as pipe:
                for c in checks:
                    pipe.hget(cache_key(c.key.user_id), c.key.chat_id)
                cached = await pipe.execute()
        except RedisError:
            log.warning("Redis unavailable: cached counters not checked")
            return 0
        stale = {c.key.user_id for c, value in zip(checks, cached)
                 if value is not None and value != f"{c.counter}:{c.counter_version}"
                 and int(value.split(":")[1]) <= c.counter_version}
        await self.store.forget(stale)
        return len(stale)

    async def watermark(self) -> datetime | None:
        return await self.pool.fetchval(
            "SELECT checked_up_to FROM reconcile_watermarks WHERE shards = $1 AND shard = $2", self.shards, self.shard)

    async def _record(self, summary: Summary, started_at: datetime) -> None:
        result = "ok" if summary.exit_code == EXIT_OK else "drift"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO reconcile_runs (shard, shards, mode, full_scan, started_at, checked, drifted, repaired, result) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                self.shard, self.shards, summary.mode, summary.full, started_at, summary.checked, summary.drifted,
                summary.repaired, result)
            # Drift left behind must be seen again by the next incremental run: keep the old watermark.
            if result == "ok":
                await conn.execute(
                    "INSERT INTO reconcile_watermarks (shards, shard, checked_up_to) VALUES ($1, $2, $3) "
                    "ON CONFLICT (shards, shard) DO UPDATE SET checked_up_to = greatest(reconcile_watermarks.checked_up_to, excluded.checked_up_to)",
                    self.shards, self.shard, started_at)


async def backlog(pool: asyncpg.Pool, shards: int) -> dict:
    """Dirty pairs per shard: what each shard's next incremental run would check."""
    shard = SHARD_SQL.format(column="t.user_id", shards="$1")
    rows = await pool.fetch(
        f"""
        WITH marks AS (
            SELECT s AS shard, w.checked_up_to - interval '{COMMIT_SLACK}' AS since
            FROM generate_series(0, $1 - 1) AS s
            LEFT JOIN reconcile_watermarks w ON w.shards = $1 AND w.shard = s
        ),
        touched AS (
            SELECT user_id, chat_id, unread_changed_at AS at FROM chat_members
            WHERE unread_changed_at > coalesce((SELECT min(since) FROM marks), '-infinity')
              OR EXISTS (SELECT 1 FROM marks WHERE since IS NULL)
            UNION ALL
            SELECT user_id, chat_id, updated_at FROM counters
            WHERE updated_at > coalesce((SELECT min(since) FROM marks), '-infinity')
        )
        SELECT m.shard, count(DISTINCT (t.user_id, t.chat_id)) AS dirty
        FROM touched t JOIN marks m ON m.shard = {shard}
        WHERE m.since IS NULL OR t.at > m.since
        GROUP BY m.shard
        """, shards)
    dirty = [0] * shards
    for r in rows:
        dirty[r["shard"]] = r["dirty"]
    return {"shards": shards, "dirty": dirty, "total": sum(dirty)}


def report(summary: Summary) -> str:
    line = json.dumps(asdict(summary))
    if TERMINATION_LOG.exists():
        try:
            TERMINATION_LOG.write_text(line)
        except OSError:
            log.warning("could not write %s", TERMINATION_LOG)
    return line
