"""In-memory stand-ins for the syncer, messenger and counter, served over real gRPC,
so the gateway's side of every call (requests, answers, error mapping) is exercised
without the other services."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import grpc

from common.rpc.unread.v1 import (
    counter_pb2, counter_pb2_grpc, messenger_pb2, messenger_pb2_grpc, syncer_pb2, syncer_pb2_grpc, types_pb2,
)

# A message with this text makes the fake syncer take a while to store it.
SLOW_TEXT = "slow"
SLOW_S = 0.5


@dataclass
class Chat:
    id: str
    members: list[str]
    messages: list[types_pb2.Message] = field(default_factory=list)
    create_time: str = "2024-01-01T00:00:00.000000Z"


@dataclass
class World:
    chats: dict[str, Chat] = field(default_factory=dict)
    unread: dict[tuple[str, str], int] = field(default_factory=dict)
    confirmations: list[tuple[str, str, list[int]]] = field(default_factory=list)
    sent_texts: list[str] = field(default_factory=list)

    def chat_of(self, user_id: str, companion_id: str) -> tuple[Chat, bool]:
        members = sorted([user_id, companion_id])
        for chat in self.chats.values():
            if chat.members == members:
                return chat, False
        chat = Chat(str(uuid.uuid4()), members)
        self.chats[chat.id] = chat
        return chat, True

    async def member_chat(self, context: grpc.aio.ServicerContext, chat_id: str, user_id: str) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "chat not found")
        if user_id not in chat.members:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not a member of this chat")
        return chat


class FakeSyncer(syncer_pb2_grpc.SyncerServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def CreateChat(self, request, context):
        chat, created = self.world.chat_of(request.user_id, request.companion_id)
        return messenger_pb2.CreateChatResponse(chat_id=chat.id, created=created, member_ids=chat.members)

    async def SendMessages(self, request, context):
        chat = await self.world.member_chat(context, request.chat_id, request.sender_id)
        if any(m.text == SLOW_TEXT for m in request.messages):
            await asyncio.sleep(SLOW_S)
        stored = [types_pb2.Message(id=str(uuid.uuid4()), chat_id=chat.id, user_id=request.sender_id, text=m.text,
                                    status=m.status, create_time="2024-01-01T00:00:00.000000Z",
                                    seq=len(chat.messages) + i + 1)
                  for i, m in enumerate(request.messages)]
        chat.messages += stored
        self.world.sent_texts += [m.text for m in request.messages]
        return syncer_pb2.SendResponse(messages=stored)

    async def FetchHistory(self, request, context):
        chat = await self.world.member_chat(context, request.chat_id, request.user_id)
        page = chat.messages[request.offset:request.offset + request.limit]
        return messenger_pb2.GetMessagesResponse(total=len(chat.messages), messages=page, unread=0,
                                                 new_messages=len(page))

    async def ReadMessages(self, request, context):
        await self.world.member_chat(context, request.chat_id, request.user_id)
        return messenger_pb2.MarkReadResponse(unread=0, marked=1)

    async def ConfirmDelivery(self, request, context):
        self.world.confirmations.append((request.user_id, request.chat_id, list(request.seqs)))
        return syncer_pb2.ConfirmDeliveryResponse()


class FakeMessenger(messenger_pb2_grpc.MessengerServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def ListChats(self, request, context):
        mine = [c for c in self.world.chats.values() if request.user_id in c.members]
        page = mine[request.offset:request.offset + request.limit]
        return messenger_pb2.ListChatsResponse(total=len(mine), chats=[
            messenger_pb2.Chat(id=c.id, create_time=c.create_time, member_ids=c.members) for c in page])

    async def GetChatMembers(self, request, context):
        chat = self.world.chats.get(request.chat_id)
        return messenger_pb2.GetChatMembersResponse(member_ids=chat.members if chat else [])


class FakeCounter(counter_pb2_grpc.CounterServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def GetUnread(self, request, context):
        per_chat = {c.id: self.world.unread.get((request.user_id, c.id), 0)
                    for c in self.world.chats.values() if request.user_id in c.members}
        chats = [counter_pb2.ChatUnread(chat_id=c, unread=n) for c, n in sorted(per_chat.items())
                 if not request.chat_id or c == request.chat_id]
        return counter_pb2.GetUnreadResponse(total=sum(per_chat.values()), chats=chats)


async def serve(world: World) -> tuple[grpc.aio.Server, str]:
    """Starts all three fakes on one local port; returns the server and its address."""
    server = grpc.aio.server()
    syncer_pb2_grpc.add_SyncerServicer_to_server(FakeSyncer(world), server)
    messenger_pb2_grpc.add_MessengerServicer_to_server(FakeMessenger(world), server)
    counter_pb2_grpc.add_CounterServicer_to_server(FakeCounter(world), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"
