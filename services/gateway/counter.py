"""The caller's unread counters over REST."""

from __future__ import annotations

from aiohttp import web

from common.rpc.unread.v1 import counter_pb2, messenger_pb2
from gateway import validation
from gateway.auth import Authenticator
from gateway.errors import forbidden, not_found
from gateway.upstreams import Upstreams


class CounterApi:
    def __init__(self, auth: Authenticator, upstreams: Upstreams) -> None:
        self.auth = auth
        self.up = upstreams

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/counter/unread", self.unread, allow_head=False)]

    async def unread(self, request: web.Request) -> web.Response:
        user_id = self.auth.user_of(request)
        if "chat_id" not in request.query:
            counters = await self._get_unread(user_id)
            return web.json_response({"total": counters.total, "chats": [
                {"chat_id": c.chat_id, "unread": c.unread} for c in counters.chats]})
        chat_id = validation.uuid_value(request.query["chat_id"], "chat_id")
        await self._check_member(user_id, chat_id)
        counters = await self._get_unread(user_id, chat_id)
        unread = next((c.unread for c in counters.chats if c.chat_id == chat_id), 0)
        return web.json_response({"chat_id": chat_id, "unread": unread})

    async def _get_unread(self, user_id: str, chat_id: str = "") -> counter_pb2.GetUnreadResponse:
        return await self.up.counter.GetUnread(counter_pb2.GetUnreadRequest(user_id=user_id, chat_id=chat_id),
                                               timeout=self.up.timeout_s)

    async def _check_member(self, user_id: str, chat_id: str) -> None:
        # The counter service answers 0 for any chat; membership is the messenger's to say.
        members = await self.up.messenger.GetChatMembers(messenger_pb2.GetChatMembersRequest(chat_id=chat_id),
                                                         timeout=self.up.timeout_s)
        if not members.member_ids:
            raise not_found("chat not found")
        if user_id not in members.member_ids:
            raise forbidden("not a member of this chat")
