"""A user of the public API, as curl and websocat would be: HTTP and WebSocket to the gateway."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp


class ApiError(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class User:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, name: str = "Bob") -> None:
        self.http = http
        self.base_url = base_url
        self.name = name
        self.email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@email.com"
        self.password = "1234567890"
        self.token = ""
        self.id = ""

    async def call(self, method: str, path: str, body: dict | None = None, expect: int | None = None, **params):
        headers = {"Authorization": self.token} if self.token else {}
        async with self.http.request(method, self.base_url + path, json=body, params=params or None,
                                     headers=headers) as response:
            data = await response.json(content_type=None)
            if expect is not None and response.status != expect or expect is None and response.status >= 400:
                raise ApiError(response.status, data)
            return data

    async def register(self) -> "User":
        await self.call("POST", "/auth/sign-up", {
            "email": self.email, "password": self.password, "name": self.name, "surname": "Tallor",
            "birthday": "1994-04-10T20:21:25+00:00", "sex": "male", "city": "New York", "interests": "programming"})
        tokens = await self.call("POST", "/auth/sign-in", {"email": self.email, "password": self.password})
        self.token = tokens["access_token"]
        self.id = (await self.call("GET", "/auth/user/get-by-email", email=self.email))["user_id"]
        return self

    async def chat_with(self, other: "User") -> str:
        return (await self.call("POST", "/messenger/create-chat", {"companion_id": other.id}))["chat_id"]

    async def unread(self, chat_id: str | None = None) -> int:
        if chat_id:
            return (await self.call("GET", "/counter/unread", chat_id=chat_id))["unread"]
        return (await self.call("GET", "/counter/unread"))["total"]

    async def history(self, chat_id: str, offset: int = 0, limit: int = 10) -> dict:
        return await self.call("GET", "/messenger/messages", chat_id=chat_id, offset=str(offset), limit=str(limit))

    async def socket(self, base_url: str | None = None) -> "Socket":
        ws = await self.http.ws_connect(f"{(base_url or self.base_url).replace('http', 'ws', 1)}/messenger/ws",
                                        params={"token": self.token})
        return Socket(ws)


class Socket:
    """A WebSocket that sorts what arrives by kind, so tests can wait for one kind."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                async with self._arrived:
                    self.frames.append(json.loads(message.data))
                    self._arrived.notify_all()

    async def send_messages(self, chat_id: str, *texts: str, client_id: str | None = None) -> None:
        messages = [{"text": t, "status": "created", **({"client_id": client_id} if client_id else {})} for t in texts]
        await self.ws.send_str(json.dumps({"topic": "messenger", "action": "send-message",
                                           "payload": json.dumps({"chat_id": chat_id, "messages": messages})}))

    def of(self, topic: str, action: str | None = None) -> list[dict]:
        return [f for f in self.frames if f.get("topic") == topic and (action is None or f.get("action") == action)]

    async def wait_for(self, topic: str, action: str | None = None, count: int = 1, timeout: float = 5) -> list[dict]:
        async def enough() -> list[dict]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.of(topic, action)) >= count)
            return self.of(topic, action)

        return await asyncio.wait_for(enough(), timeout)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
