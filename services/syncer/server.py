"""gRPC face of the syncer."""

from __future__ import annotations

from common.errors import grpc_errors
from common.rpc.unread.v1 import syncer_pb2 as pb
from common.rpc.unread.v1 import syncer_pb2_grpc
from syncer.flows import Flows


class SyncerServicer(syncer_pb2_grpc.SyncerServicer):
    def __init__(self, flows: Flows) -> None:
        self.flows = flows

    @grpc_errors
    async def CreateChat(self, request, context):
        return await self.flows.create_chat(request)

    @grpc_errors
    async def SendMessages(self, request, context):
        return pb.SendResponse(messages=await self.flows.send(request.sender_id, request.chat_id, request.messages))

    @grpc_errors
    async def FetchHistory(self, request, context):
        return await self.flows.fetch_history(request)

    @grpc_errors
    async def ReadMessages(self, request, context):
        return await self.flows.read(request)

    @grpc_errors
    async def ConfirmDelivery(self, request, context):
        await self.flows.confirm_delivery(request.user_id, request.chat_id, list(request.seqs))
        return pb.ConfirmDeliveryResponse()
