"""The messenger's truth and the counter store in-process, on real Postgres and Redis."""

from __future__ import annotations

import uuid

import pytest

from common.stores import connect_postgres, connect_redis
from counter.store import CounterStore, Key, Value
from messenger.store import NewMessage, Truth

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
async def pool(database_url):
    pool = await connect_postgres(database_url, 8)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def redis(redis_url):
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def truth(pool) -> Truth:
    return Truth(pool)


@pytest.fixture(scope="session")
def counters(pool, redis, truth) -> CounterStore:
    async def read_truth(keys: list[Key]) -> list[Value]:
        rows = await truth.unread_truth([(k.user_id, k.chat_id) for k in keys])
        return [Value(Key(u, c), n, v) for u, c, n, v in rows]

    return CounterStore(pool, redis, read_truth)


class Chat:
    """Two fresh users and their chat, with helpers that run the flows without gRPC."""

    def __init__(self, truth: Truth, counters: CounterStore) -> None:
        self.truth, self.counters = truth, counters
        self.bob, self.alice = str(uuid.uuid4()), str(uuid.uuid4())
        self.id = ""

    async def create(self) -> "Chat":
        self.id, _, members = await self.truth.create_chat(self.bob, self.alice)
        await self.counters.init([Key(m, self.id) for m in members])
        return self

    async def send(self, n: int = 1, sender: str | None = None, live: bool = False, apply: bool = True, key: str | None = None):
        sender = sender or self.bob
        recipient = self.alice if sender == self.bob else self.bob
        sent = await self.truth.send(sender, self.id, [NewMessage(f"m{i}", "created", key) for i in range(n)],
                                     [recipient] if live else [])
        if apply:
            await self.counters.apply(events(sent.events))
        return sent

    async def counter(self, user: str | None = None) -> int:
        return (await self.counters.unread(user or self.alice)).get(self.id, 0)

    async def truth_count(self, user: str | None = None) -> int:
        [(_, _, unread, _)] = await self.truth.unread_truth([(user or self.alice, self.id)])
        return unread


def events(raw) -> list:
    from counter.store import Event
    return [Event(Key(e.user_id, e.chat_id), e.delta, e.version) for e in raw]


@pytest.fixture
async def chat(truth, counters) -> Chat:
    return await Chat(truth, counters).create()
