"""The WebSocket: authentication before the upgrade, frames in and answers out,
presence in Redis, routed frames from the syncer's channel, and shutdown."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from common.presence import Presence, Route, alive_key, presence_key
from gateway.app import HUB
from gateway.tokens import Tokens
from gateway_fakes import SLOW_TEXT, World
from gateway_helpers import SECRET, create_user, start_gateway

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT_S = 5.0


def send_frame(chat_id: str, *texts: str, as_string: bool = True, **extra) -> dict:
    payload = {"chat_id": chat_id, "messages": [{"text": t, "status": "created"} for t in texts]}
    return {"topic": "messenger", "action": "send-message", "payload": json.dumps(payload) if as_string else payload,
            **extra}


async def answer(ws: aiohttp.ClientWebSocketResponse) -> dict:
    return await ws.receive_json(timeout=ANSWER_TIMEOUT_S)


async def chat_between(gateway: TestClient, user, companion) -> str:
    response = await gateway.post("/messenger/create-chat", json={"companion_id": companion.id}, headers=user.auth)
    return (await response.json())["chat_id"]


async def eventually(check, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("token", [None, "garbage", "refresh"])
async def test_a_missing_or_bad_token_is_a_json_401_before_the_upgrade(gateway: TestClient, new_user, token) -> None:
    user = await new_user()
    token = user.refresh_token if token == "refresh" else token
    path = "/messenger/ws" if token is None else f"/messenger/ws?token={token}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gateway.ws_connect(path)
    assert refused.value.status == 401
    plain = await gateway.get(path)
    assert plain.status == 401
    assert (await plain.json())["code"] == 401


async def test_a_plain_get_with_a_good_token_is_426(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.get(f"/messenger/ws?token={user.access_token}")
    assert response.status == 426
    assert (await response.json())["code"] == 426


@pytest.mark.parametrize("raw", [
    "not json",
    "[1, 2]",
    '{"topic": "gossip", "action": "send-message", "payload": {}}',
    '{"topic": "messenger", "action": "dance", "payload": {}}',
    '{"topic": "messenger", "action": "send-message", "payload": "{broken"}',
    '{"topic": "messenger", "action": "send-message", "payload": 7}',
    '{"topic": "messenger", "action": "send-message", "payload": {"chat_id": "x", "messages": [{"text": "hi"}]}}',
    '{"topic": "messenger", "action": "send-message", "payload": {"chat_id": "%s", "messages": []}}' % uuid.uuid4(),
    '{"topic": "messenger", "action": "send-message", "payload": {"chat_id": "%s", "messages": [{"text": " "}]}}'
    % uuid.uuid4(),
    '{"topic": "messenger", "action": "read-messages", "payload": {"chat_id": "%s"}}' % uuid.uuid4(),
])
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_open(gateway: TestClient, new_user,
                                                                         raw: str) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_str(raw)
        error = await answer(ws)
        assert error["topic"] == "error"
        assert error["payload"]["code"] == 400
        assert error["payload"]["message"]
        await ws.send_json(send_frame(chat_id, "still here"))
        assert (await answer(ws))["action"] == "send-message-ack"


async def test_too_many_messages_or_too_long_a_text_is_400(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    chat_id = str(uuid.uuid4())
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_json(send_frame(chat_id, *["x"] * 101))
        assert (await answer(ws))["payload"]["code"] == 400
        await ws.send_json(send_frame(chat_id, "x" * 4097))
        assert (await answer(ws))["payload"]["code"] == 400


async def test_an_oversized_frame_gets_413_and_the_socket_stays_open(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_str(json.dumps({"topic": "messenger", "padding": "x" * 70_000}))
        assert (await answer(ws))["payload"]["code"] == 413
        await ws.send_str("{}")
        assert (await answer(ws))["payload"]["code"] == 400


async def test_a_binary_frame_gets_an_error_frame(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_bytes(b"\x00\x01")
        assert (await answer(ws))["topic"] == "error"
        await ws.send_str("{}")
        assert (await answer(ws))["topic"] == "error"


async def test_the_seed_frame_is_stored_and_acknowledged(gateway: TestClient, world: World, new_user) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    # Exactly the seed's frame: the payload is a JSON string.
    seed_frame = ('{"topic":"messenger", "action": "send-message", "payload":"{\\"chat_id\\":\\"%s\\", '
                  '\\"messages\\":[{\\"text\\": \\"Hello, Alice!\\", \\"status\\": \\"created\\"}]}"}' % chat_id)
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_str(seed_frame)
        ack = await answer(ws)
    assert ack["topic"] == "messenger"
    assert ack["action"] == "send-message-ack"
    assert ack["payload"]["chat_id"] == chat_id
    [message_id] = ack["payload"]["message_ids"]
    assert [m.id for m in world.chats[chat_id].messages] == [message_id]
    assert "request_id" not in ack


async def test_the_token_may_come_in_the_authorization_header(gateway: TestClient, new_user) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    async with gateway.ws_connect("/messenger/ws", headers={"Authorization": f"Bearer {bob.access_token}"}) as ws:
        await ws.send_json(send_frame(chat_id, "hi", as_string=False, request_id="r-1"))
        ack = await answer(ws)
    assert ack["action"] == "send-message-ack"
    assert ack["request_id"] == "r-1"


async def test_read_messages_is_acknowledged_with_the_unread_count(gateway: TestClient, new_user) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    async with gateway.ws_connect(f"/messenger/ws?token={alice.access_token}") as ws:
        await ws.send_json({"topic": "messenger", "action": "read-messages", "request_id": 7,
                            "payload": {"chat_id": chat_id, "up_to_message_id": str(uuid.uuid4())}})
        ack = await answer(ws)
    assert ack == {"topic": "messenger", "action": "read-messages-ack", "payload": {"chat_id": chat_id, "unread": 0},
                   "request_id": 7}


async def test_grpc_errors_become_error_frames_with_the_http_code(gateway: TestClient, new_user) -> None:
    bob, alice, eve = await new_user(), await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    async with gateway.ws_connect(f"/messenger/ws?token={eve.access_token}") as ws:
        await ws.send_json(send_frame(chat_id, "let me in", request_id="a"))
        assert await answer(ws) == {"topic": "error", "payload": {"code": 403, "message": "not a member of this chat"},
                                    "request_id": "a"}
        await ws.send_json(send_frame(str(uuid.uuid4()), "anyone?"))
        assert (await answer(ws))["payload"] == {"code": 404, "message": "chat not found"}


async def test_frames_of_one_socket_keep_their_order_without_blocking_others(gateway: TestClient, world: World,
                                                                             new_user) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await chat_between(gateway, bob, alice)
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as slow_socket, \
            gateway.ws_connect(f"/messenger/ws?token={alice.access_token}") as other_socket:
        await slow_socket.send_json(send_frame(chat_id, SLOW_TEXT, request_id=1))
        await slow_socket.send_json(send_frame(chat_id, "after the slow one", request_id=2))
        await asyncio.sleep(0.05)
        await other_socket.send_json(send_frame(chat_id, "meanwhile", request_id=3))
        # Alice's answer comes while Bob's slow send is still being stored.
        assert (await answer(other_socket))["request_id"] == 3
        assert [(await answer(slow_socket))["request_id"] for _ in range(2)] == [1, 2]
    texts = [m.text for m in world.chats[chat_id].messages]
    assert texts.index(SLOW_TEXT) < texts.index("after the slow one")


async def test_presence_lives_as_long_as_the_socket(gateway: TestClient, redis, new_user) -> None:
    bob = await new_user()
    instance = gateway.app[HUB].instance
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}"), \
            gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as second:
        await eventually(lambda: _sockets_in_presence(redis, bob.id, instance, "2"))
        assert await redis.exists(alive_key(instance))
        await second.close()
        await eventually(lambda: _sockets_in_presence(redis, bob.id, instance, "1"))
    await eventually(lambda: _sockets_in_presence(redis, bob.id, instance, None))


async def _sockets_in_presence(redis, user_id: str, instance: str, expected: str | None) -> bool:
    return await redis.hget(presence_key(user_id), instance) == expected


async def test_a_routed_delivery_reaches_every_socket_and_is_confirmed(gateway: TestClient, world: World, redis,
                                                                       new_user) -> None:
    alice = await new_user()
    chat_id, instance = str(uuid.uuid4()), gateway.app[HUB].instance
    frame = json.dumps({"topic": "messenger", "action": "send-message", "payload": "{}"})
    async with gateway.ws_connect(f"/messenger/ws?token={alice.access_token}") as phone, \
            gateway.ws_connect(f"/messenger/ws?token={alice.access_token}") as laptop:
        await eventually(lambda: _sockets_in_presence(redis, alice.id, instance, "2"))
        assert await Presence(redis).publish(instance, Route(alice.id, frame, chat_id, (4, 5))) == 1
        assert await phone.receive_str(timeout=ANSWER_TIMEOUT_S) == frame
        assert await laptop.receive_str(timeout=ANSWER_TIMEOUT_S) == frame
    await eventually(lambda: _confirmed(world, (alice.id, chat_id, [4, 5])))
    assert world.confirmations.count((alice.id, chat_id, [4, 5])) == 1


async def _confirmed(world: World, confirmation: tuple) -> bool:
    return confirmation in world.confirmations


async def test_a_routed_counter_frame_is_written_without_a_confirmation(gateway: TestClient, world: World, redis,
                                                                        new_user) -> None:
    alice = await new_user()
    instance = gateway.app[HUB].instance
    frame = json.dumps({"topic": "counter", "action": "unread", "payload": {"chat_id": "c", "unread": 1, "total": 1}})
    async with gateway.ws_connect(f"/messenger/ws?token={alice.access_token}") as ws:
        await eventually(lambda: _sockets_in_presence(redis, alice.id, instance, "1"))
        await Presence(redis).publish(instance, Route(alice.id, frame))
        assert await ws.receive_str(timeout=ANSWER_TIMEOUT_S) == frame
    assert all(user_id != alice.id for user_id, _, _ in world.confirmations)


async def test_lost_presence_is_written_again_on_the_next_refresh(gateway: TestClient, redis, new_user) -> None:
    alice = await new_user()
    hub = gateway.app[HUB]
    async with gateway.ws_connect(f"/messenger/ws?token={alice.access_token}"):
        await eventually(lambda: _sockets_in_presence(redis, alice.id, hub.instance, "1"))
        await redis.delete(presence_key(alice.id), alive_key(hub.instance))
        await hub.refresh_presence()
        assert await redis.hget(presence_key(alice.id), hub.instance) == "1"


async def test_shutdown_closes_sockets_with_1001_and_retires_presence(upstream_addr, pool, redis) -> None:
    client, upstreams = await start_gateway(upstream_addr, pool, redis)
    try:
        alice = await create_user(client)
        instance = client.app[HUB].instance
        ws = await client.ws_connect(f"/messenger/ws?token={alice.access_token}")
        await eventually(lambda: _sockets_in_presence(redis, alice.id, instance, "1"))
        await client.server.close()
        closing = await ws.receive(timeout=ANSWER_TIMEOUT_S)
        assert closing.type is WSMsgType.CLOSE
        assert closing.data == 1001
        assert await redis.hget(presence_key(alice.id), instance) is None
        assert not await redis.exists(alive_key(instance))
    finally:
        await client.close()
        await upstreams.close()


async def test_the_socket_closes_when_its_access_token_expires(gateway: TestClient) -> None:
    short_lived = Tokens(SECRET, access_ttl_s=1, refresh_ttl_s=60).issue(str(uuid.uuid4())).access_token
    async with gateway.ws_connect(f"/messenger/ws?token={short_lived}") as ws:
        closing = await asyncio.wait_for(ws.receive(), 5)
    assert closing.type is WSMsgType.CLOSE
    assert ws.close_code == 1008
