"""Chats and message history over REST; the flows themselves run in the syncer."""

from __future__ import annotations

import asyncio

from aiohttp import web

from common.rpc.unread.v1 import counter_pb2, messenger_pb2, types_pb2
from gateway import validation
from gateway.auth import Authenticator
from gateway.errors import bad_request, not_found
from gateway.upstreams import Upstreams
from gateway.users import Users

CHATS_DEFAULT_LIMIT = 20
MESSAGES_DEFAULT_LIMIT = 10


def message_json(message: types_pb2.Message) -> dict:
    return {"id": message.id, "text": message.text, "status": message.status, "create_time": message.create_time,
            "user_id": message.user_id, "chat_id": message.chat_id}


class MessengerApi:
    def __init__(self, auth: Authenticator, users: Users, upstreams: Upstreams, page_max_limit: int) -> None:
        self.auth = auth
        self.users = users
        self.up = upstreams
        self.page_max_limit = page_max_limit

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/messenger/create-chat", self.create_chat),
            web.get("/messenger/chats", self.chats, allow_head=False),
            web.get("/messenger/messages", self.messages, allow_head=False),
        ]

    async def create_chat(self, request: web.Request) -> web.Response:
        user_id = self.auth.user_of(request)
        body = await validation.json_object(request)
        companion_id = validation.uuid_value(body.get("companion_id"), "companion_id")
        if companion_id == user_id:
            raise bad_request("cannot create a chat with yourself", "companion_id")
        if not await self.users.exists(companion_id):
            raise not_found("no user with this companion_id")
        chat = await self.up.syncer.CreateChat(
            messenger_pb2.CreateChatRequest(user_id=user_id, companion_id=companion_id), timeout=self.up.timeout_s)
        return web.json_response({"chat_id": chat.chat_id}, status=201 if chat.created else 200)

    async def chats(self, request: web.Request) -> web.Response:
        user_id = self.auth.user_of(request)
        offset, limit = validation.page(request, CHATS_DEFAULT_LIMIT, self.page_max_limit)
        listed, unread = await asyncio.gather(
            self.up.messenger.ListChats(messenger_pb2.ListChatsRequest(user_id=user_id, offset=offset, limit=limit),
                                        timeout=self.up.timeout_s),
            self.up.counter.GetUnread(counter_pb2.GetUnreadRequest(user_id=user_id), timeout=self.up.timeout_s))
        names = await self.users.names(sorted({m for chat in listed.chats for m in chat.member_ids}))
        unread_by_chat = {c.chat_id: c.unread for c in unread.chats}
        return web.json_response({"total": listed.total, "offset": offset, "limit": limit, "chats": [
            {"id": chat.id, "create_time": chat.create_time,
             "participants": [_participant(m, names) for m in chat.member_ids],
             "unread": unread_by_chat.get(chat.id, 0)}
            for chat in listed.chats]})

    async def messages(self, request: web.Request) -> web.Response:
        user_id = self.auth.user_of(request)
        chat_id = validation.uuid_value(request.query.get("chat_id"), "chat_id")
        offset, limit = validation.page(request, MESSAGES_DEFAULT_LIMIT, self.page_max_limit)
        page = await self.up.syncer.FetchHistory(
            messenger_pb2.GetMessagesRequest(user_id=user_id, chat_id=chat_id, offset=offset, limit=limit),
            timeout=self.up.timeout_s)
        return web.json_response({"total": page.total, "limit": limit, "offset": offset,
                                  "messages": [message_json(m) for m in page.messages],
                                  "unread": page.unread, "new_messages": page.new_messages})


def _participant(user_id: str, names: dict[str, tuple[str, str]]) -> dict:
    name, surname = names.get(user_id, ("", ""))
    return {"id": user_id, "name": name, "surname": surname}
