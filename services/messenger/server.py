"""gRPC face of the messenger: protobuf in, `Truth` calls, protobuf out."""

from __future__ import annotations

from datetime import datetime, timezone

from common.errors import grpc_errors
from common.rpc.unread.v1 import messenger_pb2 as pb
from common.rpc.unread.v1 import messenger_pb2_grpc
from common.rpc.unread.v1 import types_pb2
from messenger.store import CounterEvent, NewMessage, StoredMessage, Truth


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def message_pb(m: StoredMessage) -> types_pb2.Message:
    return types_pb2.Message(id=m.id, chat_id=m.chat_id, user_id=m.user_id, text=m.text, status=m.status,
                             create_time=rfc3339(m.create_time), seq=m.seq)


def events_pb(events: list[CounterEvent]) -> list[types_pb2.CounterEvent]:
    return [types_pb2.CounterEvent(id=e.id, user_id=e.user_id, chat_id=e.chat_id, delta=e.delta, version=e.version)
            for e in events]


class MessengerServicer(messenger_pb2_grpc.MessengerServicer):
    def __init__(self, truth: Truth) -> None:
        self.truth = truth

    @grpc_errors
    async def CreateChat(self, request, context):
        chat_id, created, members = await self.truth.create_chat(request.user_id, request.companion_id)
        return pb.CreateChatResponse(chat_id=chat_id, created=created, member_ids=members)

    @grpc_errors
    async def ListChats(self, request, context):
        total, chats = await self.truth.list_chats(request.user_id, request.offset, request.limit)
        return pb.ListChatsResponse(total=total, chats=[
            pb.Chat(id=chat_id, create_time=rfc3339(created), member_ids=members) for chat_id, created, members in chats])

    @grpc_errors
    async def GetChatMembers(self, request, context):
        return pb.GetChatMembersResponse(member_ids=await self.truth.chat_members(request.chat_id))

    @grpc_errors
    async def SendMessages(self, request, context):
        messages = [NewMessage(m.text, m.status, m.client_id or None) for m in request.messages]
        sent = await self.truth.send(request.sender_id, request.chat_id, messages, request.live_recipient_ids)
        return pb.SendMessagesResponse(messages=[message_pb(m) for m in sent.messages], recipient_ids=sent.recipient_ids,
                                       events=events_pb(sent.events), stored_seqs=sent.stored_seqs)

    @grpc_errors
    async def GetMessages(self, request, context):
        page = await self.truth.page(request.user_id, request.chat_id, request.offset, request.limit)
        return pb.GetMessagesResponse(total=page.total, messages=[message_pb(m) for m in page.messages],
                                      unread=page.unread, new_messages=page.new_messages, events=events_pb(page.events))

    @grpc_errors
    async def MarkRead(self, request, context):
        unread, marked, events = await self.truth.mark_read_up_to(request.user_id, request.chat_id,
                                                                  request.up_to_message_id)
        return pb.MarkReadResponse(unread=unread, marked=marked, events=events_pb(events))

    @grpc_errors
    async def ResolveDelivery(self, request, context):
        events = await self.truth.resolve_delivery(request.user_id, request.chat_id, list(request.seqs),
                                                   request.delivered)
        return pb.ResolveDeliveryResponse(events=events_pb(events))

    @grpc_errors
    async def ExpireDeliveries(self, request, context):
        events = await self.truth.expire_deliveries(request.older_than_ms, request.limit or 1000)
        return pb.ExpireDeliveriesResponse(events=events_pb(events))

    @grpc_errors
    async def ListCounterEvents(self, request, context):
        return pb.ListCounterEventsResponse(events=events_pb(
            await self.truth.outbox(request.older_than_ms, request.limit or 1000)))

    @grpc_errors
    async def DeleteCounterEvents(self, request, context):
        return pb.DeleteCounterEventsResponse(deleted=await self.truth.delete_outbox(list(request.ids)))

    @grpc_errors
    async def GetUnreadTruth(self, request, context):
        values = await self.truth.unread_truth([(k.user_id, k.chat_id) for k in request.keys])
        return pb.GetUnreadTruthResponse(values=[
            types_pb2.CounterValue(user_id=u, chat_id=c, unread=n, version=v) for u, c, n, v in values])
