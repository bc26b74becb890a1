"""Chats, history and counters over REST, with fake gRPC services behind the gateway;
plus the JSON shape of every kind of error."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient

from gateway_fakes import World
from gateway_helpers import create_user, dead_address, start_gateway

pytestmark = pytest.mark.integration


async def create_chat(gateway: TestClient, user, companion) -> str:
    response = await gateway.post("/messenger/create-chat", json={"companion_id": companion.id}, headers=user.auth)
    assert response.status in (200, 201), await response.text()
    return (await response.json())["chat_id"]


async def test_create_chat_is_201_then_200_with_the_same_chat(gateway: TestClient, new_user) -> None:
    bob, alice = await new_user(), await new_user()
    first = await gateway.post("/messenger/create-chat", json={"companion_id": alice.id}, headers=bob.auth)
    again = await gateway.post("/messenger/create-chat", json={"companion_id": bob.id}, headers=alice.auth)
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["chat_id"] == (await again.json())["chat_id"]


@pytest.mark.parametrize(("companion_id", "status"), [
    ("not-a-uuid", 400),
    (None, 400),
    (str(uuid.uuid4()), 404),
])
async def test_create_chat_refuses_a_bad_companion(gateway: TestClient, new_user, companion_id, status) -> None:
    bob = await new_user()
    response = await gateway.post("/messenger/create-chat", json={"companion_id": companion_id}, headers=bob.auth)
    assert response.status == status
    assert (await response.json())["code"] == status


async def test_create_chat_with_yourself_is_400(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    response = await gateway.post("/messenger/create-chat", json={"companion_id": bob.id}, headers=bob.auth)
    assert response.status == 400
    assert (await response.json())["field"] == "companion_id"


async def test_create_chat_needs_a_token(gateway: TestClient) -> None:
    response = await gateway.post("/messenger/create-chat", json={"companion_id": str(uuid.uuid4())})
    assert response.status == 401


async def test_chats_carry_participants_names_and_unread(gateway: TestClient, world: World, new_user) -> None:
    bob, alice = await new_user(name="Bob", surname="Tallor"), await new_user(name="Alice", surname="Swift")
    chat_id = await create_chat(gateway, bob, alice)
    world.unread[(bob.id, chat_id)] = 3
    response = await gateway.get("/messenger/chats", headers=bob.auth)
    assert response.status == 200
    listed = await response.json()
    assert (listed["total"], listed["offset"], listed["limit"]) == (1, 0, 20)
    [chat] = listed["chats"]
    assert chat["id"] == chat_id
    assert chat["unread"] == 3
    assert sorted((p["id"], p["name"], p["surname"]) for p in chat["participants"]) == sorted(
        [(bob.id, "Bob", "Tallor"), (alice.id, "Alice", "Swift")])


@pytest.mark.parametrize("query", ["limit=101", "limit=-1", "limit=ten", "offset=-5", "offset=1.5", "limit=1e3"])
async def test_paging_refuses_bad_numbers(gateway: TestClient, new_user, query: str) -> None:
    bob = await new_user()
    for path in ("/messenger/chats", f"/messenger/messages?chat_id={uuid.uuid4()}"):
        separator = "&" if "?" in path else "?"
        response = await gateway.get(f"{path}{separator}{query}", headers=bob.auth)
        assert response.status == 400, path
        assert (await response.json())["field"] == query.split("=")[0]


async def test_messages_page_has_the_seed_shape(gateway: TestClient, world: World, new_user) -> None:
    bob, alice = await new_user(), await new_user()
    chat_id = await create_chat(gateway, bob, alice)
    async with gateway.ws_connect(f"/messenger/ws?token={bob.access_token}") as ws:
        await ws.send_json({"topic": "messenger", "action": "send-message", "payload": {
            "chat_id": chat_id, "messages": [{"text": t, "status": "created"} for t in ("one", "two", "three")]}})
        assert (await ws.receive_json())["action"] == "send-message-ack"
    response = await gateway.get("/messenger/messages", params={"chat_id": chat_id, "offset": "1"},
                                 headers=alice.auth)
    assert response.status == 200
    page = await response.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 10, 1)
    assert [m["text"] for m in page["messages"]] == ["two", "three"]
    assert set(page["messages"][0]) == {"id", "text", "status", "create_time", "user_id", "chat_id"}
    assert page["messages"][0]["user_id"] == bob.id
    assert {"unread", "new_messages"} <= set(page)


async def test_messages_of_a_chat_you_are_not_in_is_403(gateway: TestClient, new_user) -> None:
    bob, alice, eve = await new_user(), await new_user(), await new_user()
    chat_id = await create_chat(gateway, bob, alice)
    response = await gateway.get("/messenger/messages", params={"chat_id": chat_id}, headers=eve.auth)
    assert response.status == 403
    assert await response.json() == {"code": 403, "message": "not a member of this chat"}


async def test_messages_of_an_unknown_chat_is_404(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    response = await gateway.get("/messenger/messages", params={"chat_id": str(uuid.uuid4())}, headers=bob.auth)
    assert response.status == 404


async def test_messages_need_a_chat_id(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    response = await gateway.get("/messenger/messages", headers=bob.auth)
    assert response.status == 400
    assert (await response.json())["field"] == "chat_id"


async def test_unread_totals_and_one_chat(gateway: TestClient, world: World, new_user) -> None:
    bob, alice, carol = await new_user(), await new_user(), await new_user()
    with_alice, with_carol = await create_chat(gateway, bob, alice), await create_chat(gateway, bob, carol)
    world.unread[(bob.id, with_alice)] = 2
    world.unread[(bob.id, with_carol)] = 5

    everything = await gateway.get("/counter/unread", headers=bob.auth)
    assert everything.status == 200
    body = await everything.json()
    assert body["total"] == 7
    assert sorted((c["chat_id"], c["unread"]) for c in body["chats"]) == sorted([(with_alice, 2), (with_carol, 5)])

    one = await gateway.get("/counter/unread", params={"chat_id": with_carol}, headers=bob.auth)
    assert await one.json() == {"chat_id": with_carol, "unread": 5}


async def test_unread_of_a_chat_checks_membership(gateway: TestClient, new_user) -> None:
    bob, alice, eve = await new_user(), await new_user(), await new_user()
    chat_id = await create_chat(gateway, bob, alice)
    not_member = await gateway.get("/counter/unread", params={"chat_id": chat_id}, headers=eve.auth)
    unknown = await gateway.get("/counter/unread", params={"chat_id": str(uuid.uuid4())}, headers=eve.auth)
    bad = await gateway.get("/counter/unread", params={"chat_id": "nope"}, headers=eve.auth)
    assert (not_member.status, unknown.status, bad.status) == (403, 404, 400)


async def test_an_unreachable_service_is_503(pool, redis) -> None:
    client, upstreams = await start_gateway(dead_address(), pool, redis)
    try:
        bob = await create_user(client)
        response = await client.get("/counter/unread", headers=bob.auth)
        assert response.status == 503
        body = await response.json()
        assert body["code"] == 503
        assert "127.0.0.1" not in body["message"]
    finally:
        await client.close()
        await upstreams.close()


async def test_an_unknown_route_is_json_404(gateway: TestClient) -> None:
    response = await gateway.get("/no/such/thing")
    assert response.status == 404
    assert await response.json() == {"code": 404, "message": "not found"}


async def test_a_wrong_method_is_json_405(gateway: TestClient) -> None:
    response = await gateway.delete("/auth/sign-in")
    assert response.status == 405
    assert (await response.json())["code"] == 405
    assert "POST" in response.headers["Allow"]


async def test_a_json_body_that_is_not_an_object_is_400(gateway: TestClient, new_user) -> None:
    bob = await new_user()
    response = await gateway.post("/messenger/create-chat", json=["companion_id"], headers=bob.auth)
    assert response.status == 400
    assert await response.json() == {"code": 400, "message": "the body must be a JSON object"}


async def test_health_readiness_metrics_and_openapi(gateway: TestClient) -> None:
    assert (await gateway.get("/healthz")).status == 200
    ready = await gateway.get("/readyz")
    assert ready.status == 200
    assert await ready.json() == {"status": "ready"}
    metrics = await (await gateway.get("/metrics")).text()
    assert 'gateway_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
    assert "gateway_websockets_open" in metrics
    document = await (await gateway.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
