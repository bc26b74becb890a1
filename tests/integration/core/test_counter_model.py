"""Property test: random interleavings of every counter-changing step, against a model.

The model is the set of messages each user has not read. Events reach the counter
late, twice, out of order, or not at all; Redis is flushed at random. Whenever
traffic stops and the outbox has been replayed, counter == truth == model; and
after one repair run, even events lost on purpose leave no drift.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from common.stores import connect_postgres, connect_redis
from counter.store import CounterStore, Event, Key, Value
from messenger.store import NewMessage, Truth
from syncer.reconcile import Reconciler

pytestmark = pytest.mark.integration


def counter_events(raw) -> list[Event]:
    return [Event(Key(e.user_id, e.chat_id), e.delta, e.version) for e in raw]


class CounterMachine(RuleBasedStateMachine):
    database_url = ""
    redis_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.pool = self.run(connect_postgres(self.database_url, 2))
        self.redis = connect_redis(self.redis_url)
        self.truth = Truth(self.pool)
        self.store = CounterStore(self.pool, self.redis, self.read_truth)
        self.users = [str(uuid.uuid4()), str(uuid.uuid4())]
        self.unread = {u: set() for u in self.users}   # the model: seqs not read, counted
        self.pending = {u: set() for u in self.users}  # copies awaiting live-delivery confirmation
        self.in_flight: list[Event] = []                # events written but not applied yet
        self.applied: list[Event] = []
        self.lost = False
        self.total = 0

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    async def read_truth(self, keys):
        rows = await self.truth.unread_truth([(k.user_id, k.chat_id) for k in keys])
        return [Value(Key(u, c), n, v) for u, c, n, v in rows]

    @initialize()
    def create_chat(self):
        self.chat, _, members = self.run(self.truth.create_chat(*self.users))
        self.run(self.store.init([Key(m, self.chat) for m in members]))

    def other(self, user: str) -> str:
        return self.users[1 - self.users.index(user)]

    @rule(sender=st.integers(0, 1), n=st.integers(1, 3), live=st.booleans())
    def send(self, sender, n, live):
        user = self.users[sender]
        recipient = self.other(user)
        sent = self.run(self.truth.send(user, self.chat, [NewMessage("m", "created", None)] * n,
                                        [recipient] if live else []))
        self.total += n
        (self.pending if live else self.unread)[recipient].update(sent.stored_seqs)
        self.in_flight += counter_events(sent.events)

    @precondition(lambda self: any(self.pending.values()))
    @rule(user=st.integers(0, 1), delivered=st.booleans())
    def settle_delivery(self, user, delivered):
        user = self.users[user]
        seqs = sorted(self.pending[user])
        self.in_flight += counter_events(self.run(self.truth.resolve_delivery(user, self.chat, seqs, delivered)))
        self.pending[user].clear()
        if not delivered:
            self.unread[user].update(seqs)

    @rule(user=st.integers(0, 1), offset=st.integers(0, 8), limit=st.integers(1, 4))
    def fetch_page(self, user, offset, limit):
        user = self.users[user]
        page = self.run(self.truth.page(user, self.chat, offset, limit))
        seqs = {m.seq for m in page.messages}
        theirs = {m.seq for m in page.messages if m.user_id != user}
        assert page.new_messages == len((self.unread[user] | self.pending[user]) & theirs)
        self.unread[user] -= seqs
        self.pending[user] -= seqs
        assert page.unread == len(self.unread[user])
        self.in_flight += counter_events(page.events)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def apply_some(self, data):
        """Some in-flight events reach the counter, in any order."""
        chosen = data.draw(st.lists(st.sampled_from(self.in_flight), min_size=1, unique=True))
        self.in_flight = [e for e in self.in_flight if e not in chosen]
        self.run(self.store.apply(chosen))
        self.applied += chosen

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def apply_again(self, data):
        """A retry delivers an event that was applied before."""
        self.run(self.store.apply([data.draw(st.sampled_from(self.applied))]))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def lose_an_event(self, data):
        """An event is lost for good, outbox row and all."""
        lost = data.draw(st.sampled_from(self.in_flight))
        self.in_flight.remove(lost)
        self.run(self.pool.execute(
            "DELETE FROM counter_outbox WHERE user_id = $1 AND chat_id = $2 AND version = $3",
            uuid.UUID(lost.key.user_id), uuid.UUID(lost.key.chat_id), lost.version))
        self.lost = True

    @rule()
    def flush_redis(self):
        self.run(self.redis.flushdb())

    @invariant()
    def counter_never_negative(self):
        for user in self.users:
            assert self.run(self.store.unread(user)).get(self.chat, 0) >= 0 or self.lost

    def counters(self) -> list[int]:
        return [self.run(self.store.unread(u)).get(self.chat, 0) for u in self.users]

    def teardown(self):
        try:
            # Traffic stops: the relay replays what is still in the outbox.
            outbox = [e for e in self.run(self.truth.outbox(0, 10_000)) if e.chat_id == self.chat]
            self.run(self.store.apply(counter_events(outbox)))
            model = [len(self.unread[u]) for u in self.users]
            truth = {u: n for u, _, n, _ in self.run(self.truth.unread_truth([(u, self.chat) for u in self.users]))}
            assert [truth[u] for u in self.users] == model
            if not self.lost:
                assert self.counters() == model
            self.run(self.repair_this_chat())
            assert self.counters() == model
        finally:
            self.run(self.redis.aclose())
            self.run(self.pool.close())
            self.loop.close()

    async def repair_this_chat(self):
        reconciler = Reconciler(self.pool, self.store, 0, 1)
        checks = await reconciler._check_keys([Key(u, self.chat) for u in self.users])
        await reconciler._repair([c for c in checks if c.drifted])


def test_counter_matches_the_model_under_any_interleaving(database_url, redis_url):
    CounterMachine.database_url = database_url
    CounterMachine.redis_url = redis_url
    run_state_machine_as_test(CounterMachine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
