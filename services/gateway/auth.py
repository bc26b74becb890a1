"""Accounts and tokens: sign-up, sign-in, refresh, lookup by email; and who a request speaks for."""

from __future__ import annotations

import logging

from aiohttp import web

from gateway import passwords, validation
from gateway.errors import ApiError, not_found, unauthorized
from gateway.tokens import TokenError, Tokens
from gateway.users import EmailTaken, Refresh, RefreshTokens, Users

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "wrong email or password"


class Authenticator:
    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def user_of(self, request: web.Request, token_in_query: bool = False) -> str:
        """The user whose access token came with the request: the Authorization header
        (raw, as the seed sends it, or `Bearer <token>`), or `?token=` where a browser
        WebSocket cannot set headers."""
        return self.session_of(request, token_in_query)[0]

    def session_of(self, request: web.Request, token_in_query: bool = False) -> tuple[str, float]:
        """`user_of`, plus when the token expires (unix time)."""
        token = request.query.get("token", "") if token_in_query else ""
        token = token or _from_header(request.headers.get("Authorization", ""))
        if not token:
            raise unauthorized("missing access token")
        try:
            return self.tokens.access_session(token)
        except TokenError as exc:
            raise unauthorized(str(exc)) from None


def _from_header(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else value.strip()


class AuthApi:
    def __init__(self, users: Users, refresh_tokens: RefreshTokens, tokens: Tokens, auth: Authenticator) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.tokens = tokens
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/auth/sign-up", self.sign_up),
            web.post("/auth/sign-in", self.sign_in),
            web.put("/auth/token", self.refresh),
            web.get("/auth/user/get-by-email", self.get_by_email, allow_head=False),
        ]

    async def sign_up(self, request: web.Request) -> web.Response:
        form = validation.sign_up(await validation.json_object(request))
        try:
            user_id = await self.users.create(form, await passwords.hash_password(form.password))
        except EmailTaken:
            raise ApiError(409, "this email is already registered", "email") from None
        log.info("user signed up", extra={"user_id": user_id})
        return web.json_response({"user_id": user_id}, status=201)

    async def sign_in(self, request: web.Request) -> web.Response:
        body = await validation.json_object(request)
        email = validation.text(body, "email", validation.EMAIL_MAX_CHARS)
        password = validation.password(body, min_chars=1)
        found = await self.users.credentials(email)
        # An unknown email costs a hash check too, so timing does not tell which emails exist.
        matches = await passwords.verify_password(password, found.password_hash if found else passwords.DUMMY_HASH)
        if not (found and matches):
            raise unauthorized(BAD_CREDENTIALS)
        pair = self.tokens.issue(found.user_id)
        await self.refresh_tokens.record(pair.refresh_jti, found.user_id, pair.refresh_expires_at)
        return web.json_response(pair.as_json())

    async def refresh(self, request: web.Request) -> web.Response:
        body = await validation.json_object(request)
        token = validation.text(body, "refresh_token", 4096)
        try:
            claims = self.tokens.refresh_claims(token)
        except TokenError as exc:
            raise unauthorized(str(exc)) from None
        pair = self.tokens.issue(claims.user_id)
        outcome = await self.refresh_tokens.rotate(claims.jti, pair.refresh_jti, claims.user_id, pair.refresh_expires_at)
        if outcome is Refresh.REUSED:
            log.warning("refresh token reused: revoked all of the user's refresh tokens",
                        extra={"user_id": claims.user_id})
            raise unauthorized("refresh token already used; sign in again")
        if outcome is Refresh.UNKNOWN:
            raise unauthorized("invalid refresh token")
        return web.json_response(pair.as_json())

    async def get_by_email(self, request: web.Request) -> web.Response:
        self.auth.user_of(request)
        email = validation.email(dict(request.query))
        user_id = await self.users.id_by_email(email)
        if user_id is None:
            raise not_found("no user with this email")
        return web.json_response({"user_id": user_id})
