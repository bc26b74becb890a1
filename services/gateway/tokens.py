"""JSON Web Tokens: short-lived access tokens and single-use refresh tokens (HS256 only)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "typ"]


class TokenError(Exception):
    """The token is not one we issued, has expired, or is of the wrong kind."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    refresh_jti: str
    refresh_expires_at: datetime

    def as_json(self) -> dict[str, str]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token}


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    jti: str


class Tokens:
    def __init__(self, secret: str, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._secret = secret
        self._access_ttl_s = access_ttl_s
        self._refresh_ttl_s = refresh_ttl_s

    def issue(self, user_id: str, now: float | None = None) -> TokenPair:
        now = time.time() if now is None else now
        jti = str(uuid.uuid4())
        refresh_exp = int(now) + self._refresh_ttl_s
        access = self._encode({"sub": user_id, "typ": ACCESS, "iat": int(now), "exp": int(now) + self._access_ttl_s})
        refresh = self._encode({"sub": user_id, "typ": REFRESH, "jti": jti, "iat": int(now), "exp": refresh_exp})
        return TokenPair(access, refresh, jti, datetime.fromtimestamp(refresh_exp, timezone.utc))

    def access_user(self, token: str) -> str:
        """The user an access token speaks for."""
        return self.access_session(token)[0]

    def access_session(self, token: str) -> tuple[str, float]:
        """The user an access token speaks for, and when it stops speaking (unix time)."""
        claims = self._decode(token, ACCESS)
        return claims["sub"], float(claims["exp"])

    def refresh_claims(self, token: str) -> RefreshClaims:
        claims = self._decode(token, REFRESH)
        if not isinstance(claims.get("jti"), str):
            raise TokenError("invalid refresh token")
        return RefreshClaims(claims["sub"], claims["jti"])

    def _encode(self, claims: dict) -> str:
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str) -> dict:
        try:
            # Pinning the algorithm refuses "none" and any key-confusion trick.
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise TokenError(f"{kind} token expired") from None
        except jwt.InvalidTokenError:
            raise TokenError(f"invalid {kind} token") from None
        if claims["typ"] != kind:
            raise TokenError(f"invalid {kind} token")
        return claims
