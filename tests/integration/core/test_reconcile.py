"""The reconciliation run: finds drift, repairs it without overwriting racing updates, shards cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest

from common.stores import connect_postgres
from counter.store import CounterStore, Key
from messenger.store import Truth
from syncer.reconcile import EXIT_DRIFT, EXIT_OK, Reconciler, backlog, shard_of

from .conftest import Chat


@pytest.fixture
async def world(scratch_database_url, redis, counters):
    """Truth and counters on a database of the test's own, so a full run sees only this test's pairs."""
    pool = await connect_postgres(scratch_database_url, 4)
    truth = Truth(pool)
    store = CounterStore(pool, redis, counters.truth)

    async def read_truth(keys):
        from counter.store import Value
        return [Value(Key(u, c), n, v) for u, c, n, v in await truth.unread_truth([(k.user_id, k.chat_id) for k in keys])]

    store.truth = read_truth
    yield pool, truth, store
    await pool.close()


async def chats(truth, store, n):
    made = []
    for _ in range(n):
        chat = await Chat(truth, store).create()
        await chat.send(2)
        made.append(chat)
    return made


async def corrupt(pool, chat, by=5):
    await pool.execute("UPDATE counters SET unread = unread + $3 WHERE user_id = $1 AND chat_id = $2",
                       uuid.UUID(chat.alice), uuid.UUID(chat.id), by)


async def test_verify_finds_drift_and_repair_fixes_it(world):
    pool, truth, store = world
    made = await chats(truth, store, 4)
    await corrupt(pool, made[1])
    verify = await Reconciler(pool, store, 0, 1).run(repair=False, full=True)
    assert (verify.checked, verify.drifted, verify.repaired, verify.exit_code) == (8, 1, 0, EXIT_DRIFT)
    repair = await Reconciler(pool, store, 0, 1).run(repair=True, full=True)
    assert (repair.drifted, repair.repaired, repair.exit_code) == (1, 1, EXIT_OK)
    assert await made[1].counter() == 2
    after = await Reconciler(pool, store, 0, 1).run(repair=False, full=True)
    assert after.drifted == 0


async def test_repair_drops_the_users_cached_copy(world, redis):
    pool, truth, store = world
    [chat] = await chats(truth, store, 1)
    assert await chat.counter() == 2  # now cached
    await corrupt(pool, chat)
    await Reconciler(pool, store, 0, 1).run(repair=True, full=True)
    assert await chat.counter() == 2


async def test_a_stale_cache_alone_is_dropped_by_a_full_run(world, redis):
    pool, truth, store = world
    [chat] = await chats(truth, store, 1)
    await chat.counter()
    await redis.hset(f"unread:{chat.alice}", chat.id, "9:1")
    summary = await Reconciler(pool, store, 0, 1).run(repair=True, full=True)
    assert summary.cache_dropped == 1 and await chat.counter() == 2


async def test_max_repairs_caps_a_run(world):
    pool, truth, store = world
    made = await chats(truth, store, 3)
    for chat in made:
        await corrupt(pool, chat)
    summary = await Reconciler(pool, store, 0, 1).run(repair=True, full=True, max_repairs=2)
    assert (summary.drifted, summary.repaired, summary.exit_code) == (3, 2, EXIT_DRIFT)


async def test_incremental_run_checks_only_what_changed(world):
    pool, truth, store = world
    made = await chats(truth, store, 5)
    first = await Reconciler(pool, store, 0, 1).run(repair=True, full=False)
    assert first.full and first.checked == 10  # a shard that never ran does a full pass
    await pool.execute("UPDATE chat_members SET unread_changed_at = now() - interval '1 hour'")
    await pool.execute("UPDATE counters SET updated_at = now() - interval '1 hour'")
    await pool.execute("UPDATE reconcile_watermarks SET checked_up_to = now() - interval '30 minutes'")
    await made[0].send(1)
    assert (await backlog(pool, 1))["dirty"] == [1]
    second = await Reconciler(pool, store, 0, 1).run(repair=True, full=False)
    assert not second.full and second.checked == 1


async def test_shards_cover_every_pair_exactly_once(world):
    pool, truth, store = world
    made = await chats(truth, store, 6)
    users = [u for chat in made for u in (chat.alice, chat.bob)]
    per_shard = [sum(1 for u in users if shard_of(u, 3) == i) for i in range(3)]
    # The backlog's SQL hash and shard_of agree, and a shard that never ran owes everything.
    assert (await backlog(pool, 3))["dirty"] == per_shard
    runs = [await Reconciler(pool, store, i, 3).run(repair=False, full=True) for i in range(3)]
    assert [r.checked for r in runs] == per_shard


async def test_two_reconcilers_on_one_shard_do_no_harm(world):
    pool, truth, store = world
    made = await chats(truth, store, 10)
    for chat in made:
        await corrupt(pool, chat)
    a, b = await asyncio.gather(*(Reconciler(pool, store, 0, 1).run(repair=True, full=True) for _ in range(2)))
    assert a.drifted + b.drifted >= 10
    for chat in made:
        assert await chat.counter() == 2


async def test_repair_never_overwrites_a_racing_increment(world):
    pool, truth, store = world
    [chat] = await chats(truth, store, 1)
    await corrupt(pool, chat)
    reconciler = Reconciler(pool, store, 0, 1)
    [check] = await reconciler._check_keys([Key(chat.alice, chat.id)])
    await chat.send(1)  # lands between the check and the repair
    from counter.store import Value
    written = await store.write_truth([Value(check.key, check.truth, check.truth_version)], overwrite_same_version=True)
    assert written == []  # refused: the counter moved on
    assert await chat.counter() == 8  # still drifted by 5, left for the re-check
    assert (await reconciler.run(repair=True, full=True)).repaired == 1
    assert await chat.counter() == 3


async def test_lagging_counter_with_events_in_the_outbox_is_not_drift(world):
    pool, truth, store = world
    [chat] = await chats(truth, store, 1)
    await chat.send(1, apply=False)  # its event waits in the outbox
    summary = await Reconciler(pool, store, 0, 1).run(repair=False, full=True)
    assert summary.drifted == 0


def run_cli(database_url: str, redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_FORMAT": "text"}
    return subprocess.run([sys.executable, "-m", "syncer", *args], env=env, capture_output=True, text=True, timeout=60)


async def test_the_command_line_reports_json_and_exit_codes(world, scratch_database_url, redis_url):
    pool, truth, store = world
    [chat] = await chats(truth, store, 1)
    await corrupt(pool, chat)
    verify = await asyncio.to_thread(run_cli, scratch_database_url, redis_url, "reconcile", "--mode", "verify", "--full")
    assert verify.returncode == EXIT_DRIFT, verify.stderr
    summary = json.loads(verify.stdout.strip().splitlines()[-1])
    assert summary["drifted"] == 1 and summary["mode"] == "verify" and summary["shards"] == 1
    assert "checked" in verify.stderr  # progress goes to stderr
    repair = await asyncio.to_thread(run_cli, scratch_database_url, redis_url, "reconcile", "--mode", "repair", "--full")
    assert repair.returncode == EXIT_OK and json.loads(repair.stdout.splitlines()[-1])["repaired"] == 1
    dirty = await asyncio.to_thread(run_cli, scratch_database_url, redis_url, "backlog", "--shards", "2")
    assert dirty.returncode == 0 and json.loads(dirty.stdout)["shards"] == 2


async def test_the_command_line_reads_the_indexed_job_index(scratch_database_url, redis_url):
    env_index = {**os.environ, "JOB_COMPLETION_INDEX": "1"}
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "syncer", "reconcile", "--shards", "2"],
                                     env={**env_index, "DATABASE_URL": scratch_database_url, "REDIS_URL": redis_url},
                                     capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["shard"] == 1


async def test_bad_arguments_and_unreachable_database_exit_distinctly(redis_url):
    bad = await asyncio.to_thread(run_cli, "postgresql://nobody@127.0.0.1:1/none", redis_url, "reconcile", "--shard", "3", "--shards", "2")
    assert bad.returncode == 2
    down = await asyncio.to_thread(run_cli, "postgresql://nobody@127.0.0.1:1/none", redis_url, "reconcile")
    assert down.returncode == 1 and "failed" in down.stderr
