"""Sign-up, sign-in, token rotation and lookup by email against real Postgres."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient

from gateway_helpers import PASSWORD, SECRET, sign_up_body
from gateway.tokens import Tokens

pytestmark = pytest.mark.integration


async def test_sign_up_answers_201_with_the_new_user_id(gateway: TestClient) -> None:
    response = await gateway.post("/auth/sign-up", json=sign_up_body())
    assert response.status == 201
    assert uuid.UUID((await response.json())["user_id"])


@pytest.mark.parametrize(("field", "value"), [
    ("email", "not-an-email"),
    ("email", None),
    ("password", "short"),
    ("password", 1234567890),
    ("name", ""),
    ("surname", "   "),
    ("birthday", "1994-04-10T20:21:25"),
    ("birthday", "1994-04-10"),
    ("birthday", "2999-01-01T00:00:00Z"),
    ("birthday", "1994-02-30T00:00:00Z"),
    ("sex", "unknown"),
    ("city", ["Paris"]),
    ("interests", 42),
])
async def test_sign_up_refuses_a_bad_field_with_400_naming_it(gateway: TestClient, field: str, value) -> None:
    body = sign_up_body(**{field: value})
    if value is None:
        del body[field]
    response = await gateway.post("/auth/sign-up", json=body)
    assert response.status == 400
    error = await response.json()
    assert error["code"] == 400
    assert error["field"] == field
    assert field in error["message"]


async def test_sign_up_refuses_a_body_that_is_not_json(gateway: TestClient) -> None:
    response = await gateway.post("/auth/sign-up", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["code"] == 400


async def test_sign_up_refuses_a_taken_email_whatever_its_case(gateway: TestClient) -> None:
    email = f"{uuid.uuid4().hex}@email.com"
    assert (await gateway.post("/auth/sign-up", json=sign_up_body(email))).status == 201
    again = await gateway.post("/auth/sign-up", json=sign_up_body(email.upper()))
    assert again.status == 409
    assert (await again.json())["code"] == 409


async def test_sign_in_gives_a_token_pair_that_works(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.get("/auth/user/get-by-email", params={"email": user.email}, headers=user.auth)
    assert response.status == 200
    assert await response.json() == {"user_id": user.id}


async def test_sign_in_answers_the_same_401_for_a_wrong_password_and_an_unknown_email(gateway: TestClient,
                                                                                       new_user) -> None:
    user = await new_user()
    wrong_password = await gateway.post("/auth/sign-in", json={"email": user.email, "password": PASSWORD + "x"})
    unknown_email = await gateway.post("/auth/sign-in", json={"email": f"{uuid.uuid4().hex}@email.com",
                                                              "password": PASSWORD})
    assert wrong_password.status == unknown_email.status == 401
    assert await wrong_password.json() == await unknown_email.json() == {
        "code": 401, "message": "wrong email or password"}


async def test_sign_in_is_case_insensitive_on_the_email(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.post("/auth/sign-in", json={"email": user.email.upper(), "password": PASSWORD})
    assert response.status == 200


async def test_sign_in_without_a_password_is_400(gateway: TestClient) -> None:
    response = await gateway.post("/auth/sign-in", json={"email": "bob@email.com"})
    assert response.status == 400
    assert (await response.json())["field"] == "password"


async def test_a_refresh_token_rotates_once(gateway: TestClient, new_user) -> None:
    user = await new_user()
    rotated = await gateway.put("/auth/token", json={"refresh_token": user.refresh_token})
    assert rotated.status == 200
    pair = await rotated.json()
    assert set(pair) == {"access_token", "refresh_token"}
    lookup = await gateway.get("/auth/user/get-by-email", params={"email": user.email},
                               headers={"Authorization": pair["access_token"]})
    assert lookup.status == 200

    reused = await gateway.put("/auth/token", json={"refresh_token": user.refresh_token})
    assert reused.status == 401
    # A reuse means the token leaked: the newer one is revoked as well.
    after_reuse = await gateway.put("/auth/token", json={"refresh_token": pair["refresh_token"]})
    assert after_reuse.status == 401


async def test_a_refresh_token_we_never_recorded_is_refused(gateway: TestClient, new_user) -> None:
    user = await new_user()
    forged_by_us = Tokens(SECRET, 900, 3600).issue(user.id).refresh_token
    response = await gateway.put("/auth/token", json={"refresh_token": forged_by_us})
    assert response.status == 401


async def test_an_access_token_does_not_refresh(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.put("/auth/token", json={"refresh_token": user.access_token})
    assert response.status == 401


async def test_a_refresh_token_is_not_an_access_token(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.get("/auth/user/get-by-email", params={"email": user.email},
                                 headers={"Authorization": user.refresh_token})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("scheme", ["", "Bearer ", "bearer "])
async def test_get_by_email_takes_the_raw_token_or_a_bearer_one(gateway: TestClient, new_user, scheme: str) -> None:
    user, other = await new_user(), await new_user()
    response = await gateway.get("/auth/user/get-by-email", params={"email": other.email.upper()},
                                 headers={"Authorization": scheme + user.access_token})
    assert response.status == 200
    assert await response.json() == {"user_id": other.id}


async def test_get_by_email_needs_a_token(gateway: TestClient) -> None:
    response = await gateway.get("/auth/user/get-by-email", params={"email": "bob@email.com"})
    assert response.status == 401
    assert await response.json() == {"code": 401, "message": "missing access token"}


async def test_get_by_email_of_nobody_is_404(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.get("/auth/user/get-by-email", params={"email": f"{uuid.uuid4().hex}@email.com"},
                                 headers=user.auth)
    assert response.status == 404
    assert (await response.json())["code"] == 404


async def test_get_by_email_without_an_email_is_400(gateway: TestClient, new_user) -> None:
    user = await new_user()
    response = await gateway.get("/auth/user/get-by-email", headers=user.auth)
    assert response.status == 400
    assert (await response.json())["field"] == "email"


async def test_an_expired_access_token_is_401(gateway: TestClient, new_user) -> None:
    user = await new_user()
    expired = Tokens(SECRET, -10, 3600).issue(user.id).access_token
    response = await gateway.get("/auth/user/get-by-email", params={"email": user.email},
                                 headers={"Authorization": expired})
    assert response.status == 401
    assert (await response.json())["message"] == "access token expired"
