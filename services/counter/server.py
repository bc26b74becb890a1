"""gRPC face of the counter service."""

from __future__ import annotations

from common.errors import grpc_errors, invalid
from common.rpc.unread.v1 import counter_pb2 as pb
from common.rpc.unread.v1 import counter_pb2_grpc, messenger_pb2, messenger_pb2_grpc, types_pb2
from counter.store import CounterStore, Event, Key, Value


def truth_from(messenger: messenger_pb2_grpc.MessengerStub):
    async def read_truth(keys: list[Key]) -> list[Value]:
        response = await messenger.GetUnreadTruth(messenger_pb2.GetUnreadTruthRequest(
            keys=[types_pb2.CounterKey(user_id=k.user_id, chat_id=k.chat_id) for k in keys]), timeout=10)
        return [Value(Key(v.user_id, v.chat_id), v.unread, v.version) for v in response.values]

    return read_truth


class CounterServicer(counter_pb2_grpc.CounterServicer):
    def __init__(self, store: CounterStore) -> None:
        self.store = store

    @grpc_errors
    async def InitCounters(self, request, context):
        await self.store.init([Key(k.user_id, k.chat_id) for k in request.keys])
        return pb.InitCountersResponse()

    @grpc_errors
    async def Apply(self, request, context):
        applied = await self.store.apply([Event(Key(e.user_id, e.chat_id), e.delta, e.version) for e in request.events])
        return pb.ApplyResponse(
            changed=[types_pb2.CounterValue(user_id=v.key.user_id, chat_id=v.key.chat_id, unread=v.unread,
                                            version=v.version, total=applied.totals.get(v.key.user_id, 0))
                     for v in applied.changed],
            duplicates=applied.duplicates, rebuilt=applied.rebuilt)

    @grpc_errors
    async def GetUnread(self, request, context):
        if not request.user_id:
            raise invalid("user_id is required")
        per_chat = await self.store.unread(request.user_id)
        chats = [pb.ChatUnread(chat_id=c, unread=n) for c, n in sorted(per_chat.items())]
        if request.chat_id:
            chats = [c for c in chats if c.chat_id == request.chat_id] or [pb.ChatUnread(chat_id=request.chat_id)]
        return pb.GetUnreadResponse(total=sum(per_chat.values()), chats=chats)
