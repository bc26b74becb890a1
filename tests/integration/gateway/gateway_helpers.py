"""Building a gateway for a test, and users to drive it."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import GatewaySettings
from gateway.upstreams import Upstreams

SECRET = "integration-tests-secret-of-at-least-32-bytes"
PASSWORD = "1234567890"


def settings_for(upstream_addr: str) -> GatewaySettings:
    return GatewaySettings(jwt_secret=SECRET, syncer_addr=upstream_addr, messenger_addr=upstream_addr,
                           counter_addr=upstream_addr, upstream_timeout_s=5.0)


async def start_gateway(upstream_addr: str, pool: asyncpg.Pool, redis: aioredis.Redis
                        ) -> tuple[TestClient, Upstreams]:
    settings = settings_for(upstream_addr)
    upstreams = Upstreams.from_settings(settings)
    client = TestClient(TestServer(build_app(settings, pool, redis, upstreams)))
    await client.start_server()
    return client, upstreams


def dead_address() -> str:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        # The raw token, as the seed's curl commands send it.
        return {"Authorization": self.access_token}


def sign_up_body(email: str | None = None, **overrides) -> dict:
    body = {"email": email or f"{uuid.uuid4().hex}@email.com", "password": PASSWORD, "name": "Bob",
            "surname": "Tallor", "birthday": "1994-04-10T20:21:25+00:00", "sex": "male", "city": "New Yourk",
            "interests": "programming"}
    return {**body, **overrides}


async def create_user(client: TestClient, **overrides) -> User:
    body = sign_up_body(**overrides)
    signed_up = await client.post("/auth/sign-up", json=body)
    assert signed_up.status == 201, await signed_up.text()
    signed_in = await client.post("/auth/sign-in", json={"email": body["email"], "password": body["password"]})
    assert signed_in.status == 200, await signed_in.text()
    tokens = await signed_in.json()
    return User((await signed_up.json())["user_id"], body["email"], tokens["access_token"], tokens["refresh_token"])
