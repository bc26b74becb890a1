"""Who is online, on which gateway process, and how to reach them, shared through Redis.

Gateways write presence and listen on their own channel; the syncer reads presence
and publishes to those channels. Nothing here lives in process memory, so any
number of gateway and syncer replicas behave like one.

    presence:<user>           hash: gateway instance id -> sockets open there
    gateway:<instance>:alive  string with a TTL the gateway keeps refreshing; a
                              crashed gateway's presence entries die with it
    gateway:<instance>        pub/sub channel of routed frames (see `Route`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

ALIVE_TTL_S = 15


def presence_key(user_id: str) -> str:
    return f"presence:{user_id}"


def alive_key(instance: str) -> str:
    return f"gateway:{instance}:alive"


def channel(instance: str) -> str:
    return f"gateway:{instance}"


# Decrement and drop the field at zero in one step, so a racing connect is never lost.
_DISCONNECT = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
"""


@dataclass(frozen=True)
class Route:
    """A frame for every socket of `user_id` on one gateway.

    With `seqs` set it is a live delivery of those messages of `chat_id`, and the
    gateway confirms it once written to at least one socket.
    """

    user_id: str
    frame: str
    chat_id: str = ""
    seqs: tuple[int, ...] = ()

    def encode(self) -> str:
        return json.dumps({"user_id": self.user_id, "frame": self.frame, "chat_id": self.chat_id, "seqs": list(self.seqs)})

    @classmethod
    def decode(cls, raw: str | bytes) -> "Route":
        data = json.loads(raw)
        return cls(data["user_id"], data["frame"], data.get("chat_id", ""), tuple(data.get("seqs", ())))


class Presence:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._disconnect = redis.register_script(_DISCONNECT)

    # The gateway's side.
    async def connected(self, instance: str, user_id: str) -> None:
        await self.redis.hincrby(presence_key(user_id), instance, 1)

    async def disconnected(self, instance: str, user_id: str) -> None:
        await self._disconnect(keys=[presence_key(user_id)], args=[instance])

    async def heartbeat(self, instance: str, sockets: dict[str, int]) -> bool:
        """Keeps the instance alive; returns False when its presence had been lost and was rewritten.

        The alive key missing means Redis restarted empty (or a syncer pruned this
        instance after a stall): without rewriting, these users would look offline.
        """
        if await self.redis.set(alive_key(instance), "1", ex=ALIVE_TTL_S, get=True) is not None or not sockets:
            return True
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, count in sockets.items():
                pipe.hset(presence_key(user_id), instance, count)
            await pipe.execute()
        return False

    async def retire(self, instance: str, user_ids: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hdel(presence_key(user_id), instance)
            pipe.delete(alive_key(instance))
            await pipe.execute()

    # The syncer's side.
    async def instances(self, user_ids: list[str]) -> dict[str, list[str]]:
        """For each user, the live gateway instances holding at least one of their sockets."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hkeys(presence_key(user_id))
            per_user = await pipe.execute()
        candidates = sorted({i for instances in per_user for i in instances})
        if not candidates:
            return {u: [] for u in user_ids}
        alive_flags = await self.redis.mget([alive_key(i) for i in candidates])
        alive = {i for i, flag in zip(candidates, alive_flags) if flag}
        result = {u: [i for i in instances if i in alive] for u, instances in zip(user_ids, per_user)}
        dead = [(u, i) for u, instances in zip(user_ids, per_user) for i in instances if i not in alive]
        if dead:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id, instance in dead:
                    pipe.hdel(presence_key(user_id), instance)
                await pipe.execute()
        return result

    async def publish(self, instance: str, route: Route) -> int:
        """How many gateway processes received it (0 or 1)."""
        return await self.redis.publish(channel(instance), route.encode())
