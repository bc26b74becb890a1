"""The gateway's tables: `users` (accounts) and `refresh_tokens` (each good for one use)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.validation import SignUp


class EmailTaken(Exception):
    pass


@dataclass(frozen=True)
class Credentials:
    user_id: str
    password_hash: str


class Refresh(enum.Enum):
    """What using a refresh token found."""

    ROTATED = "rotated"
    REUSED = "reused"
    UNKNOWN = "unknown"


class Users:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, form: SignUp, password_hash: str) -> str:
        user_id = uuid.uuid4()
        try:
            await self.pool.execute(
                """
                INSERT INTO users (id, email, password_hash, name, surname, birthday, sex, city, interests)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, user_id, form.email, password_hash, form.name, form.surname, form.birthday, form.sex,
                form.city, form.interests)
        except asyncpg.UniqueViolationError:
            raise EmailTaken(form.email) from None
        return str(user_id)

    async def credentials(self, email: str) -> Credentials | None:
        row = await self.pool.fetchrow("SELECT id, password_hash FROM users WHERE lower(email) = lower($1)", email)
        return Credentials(str(row["id"]), row["password_hash"]) if row else None

    async def id_by_email(self, email: str) -> str | None:
        user_id = await self.pool.fetchval("SELECT id FROM users WHERE lower(email) = lower($1)", email)
        return str(user_id) if user_id else None

    async def exists(self, user_id: str) -> bool:
        return await self.pool.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", uuid.UUID(user_id))

    async def names(self, user_ids: list[str]) -> dict[str, tuple[str, str]]:
        """user id -> (name, surname) for those that exist."""
        rows = await self.pool.fetch("SELECT id, name, surname FROM users WHERE id = ANY($1::uuid[])",
                                     [uuid.UUID(u) for u in user_ids])
        return {str(r["id"]): (r["name"], r["surname"]) for r in rows}


class RefreshTokens:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, jti: str, user_id: str, expires_at: datetime) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # Signing in is the natural moment to forget this user's dead tokens.
            await conn.execute("DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < now()",
                               uuid.UUID(user_id))
            await _insert(conn, jti, user_id, expires_at)

    async def rotate(self, old_jti: str, new_jti: str, user_id: str, expires_at: datetime) -> Refresh:
        """Uses up `old_jti` and records `new_jti` in one transaction.

        A second use of a token means it leaked (or a client raced itself): every
        outstanding refresh token of that user is revoked, so both holders sign in again.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            used = await conn.fetchval(
                """
                UPDATE refresh_tokens SET used_at = now()
                WHERE jti = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > now()
                RETURNING true
                """, uuid.UUID(old_jti), uuid.UUID(user_id))
            if used:
                await _insert(conn, new_jti, user_id, expires_at)
                return Refresh.ROTATED
            reused = await conn.fetchval(
                "SELECT used_at IS NOT NULL FROM refresh_tokens WHERE jti = $1 AND user_id = $2",
                uuid.UUID(old_jti), uuid.UUID(user_id))
            if not reused:
                return Refresh.UNKNOWN
            await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
                               uuid.UUID(user_id))
            return Refresh.REUSED


async def _insert(conn: asyncpg.Connection, jti: str, user_id: str, expires_at: datetime) -> None:
    await conn.execute("INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)",
                       uuid.UUID(jti), uuid.UUID(user_id), expires_at)
