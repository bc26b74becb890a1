"""The counter store: compare-and-set on versions, Redis as a cache that is never trusted over Postgres."""

from __future__ import annotations

import uuid

from counter.store import CounterStore, Event, Key, Value, cache_key

from .conftest import events


async def test_an_event_applies_once(chat, counters):
    sent = await chat.send(2, apply=False)
    first = await counters.apply(events(sent.events))
    again = await counters.apply(events(sent.events))
    assert (first.duplicates, again.duplicates, again.changed) == (0, 1, [])
    assert await chat.counter() == 2


async def test_events_out_of_order_rebuild_from_the_truth(chat, counters):
    one = await chat.send(1, apply=False)
    two = await chat.send(2, apply=False)
    applied = await counters.apply(events(two.events))
    assert applied.rebuilt == 1
    assert await chat.counter() == 3
    late = await counters.apply(events(one.events))
    assert late.duplicates == 1 and await chat.counter() == 3


async def test_a_batch_with_several_versions_of_one_pair(chat, counters):
    evs = []
    for n in (1, 2, 3):
        evs += events((await chat.send(n, apply=False)).events)
    applied = await counters.apply(list(reversed(evs)))
    assert applied.rebuilt == 0 and await chat.counter() == 6
    [value] = applied.changed
    assert (value.unread, value.version, applied.totals[chat.alice]) == (6, 3, 6)


async def test_a_missing_counter_row_starts_at_zero(truth, counters, pool):
    bob, alice = str(uuid.uuid4()), str(uuid.uuid4())
    chat_id, _, _ = await truth.create_chat(bob, alice)  # no InitCounters: as if the syncer died there
    from messenger.store import NewMessage
    sent = await truth.send(bob, chat_id, [NewMessage("hi", "created", None)], [])
    await counters.apply(events(sent.events))
    assert (await counters.unread(alice)) == {chat_id: 1}


async def test_a_lost_redis_is_rebuilt_from_postgres_not_reported_as_zero(chat, counters, redis):
    await chat.send(3)
    assert await chat.counter() == 3
    await redis.flushdb()
    assert await chat.counter() == 3
    assert await redis.hget(cache_key(chat.alice), "_loaded") == "1"


async def test_writes_after_a_flush_do_not_pass_for_the_whole_user(truth, counters, redis):
    from .conftest import Chat
    first = await Chat(truth, counters).create()
    second = Chat(truth, counters)
    second.alice = first.alice
    await second.create()
    await first.send(2)
    await redis.flushdb()
    await second.send(1)  # writes one field of alice's hash, without the rest
    assert await counters.unread(first.alice) == {first.id: 2, second.id: 1}


async def test_redis_down_falls_back_to_postgres(chat, pool):
    from common.stores import connect_redis
    dead = connect_redis("redis://127.0.0.1:1/0")
    store = CounterStore(pool, dead)
    await chat.send(2)
    assert (await store.unread(chat.alice))[chat.id] == 2
    await dead.aclose()


async def test_truth_never_overwrites_a_newer_counter(chat, counters):
    await chat.send(1)
    await chat.send(1)
    stale = Value(Key(chat.alice, chat.id), 1, 1)
    assert await counters.write_truth([stale], overwrite_same_version=True) == []
    assert await chat.counter() == 2


async def test_a_stale_cache_write_never_rolls_back(chat, counters, redis):
    await chat.send(1)
    await chat.send(1)
    await counters._cache([Value(Key(chat.alice, chat.id), 1, 1)])
    assert await redis.hget(cache_key(chat.alice), chat.id) == "2:2"


async def test_unknown_event_for_a_non_member_is_dropped_by_the_rebuild(counters):
    ghost = Key(str(uuid.uuid4()), str(uuid.uuid4()))
    applied = await counters.apply([Event(ghost, 1, 7)])
    assert applied.changed == []
