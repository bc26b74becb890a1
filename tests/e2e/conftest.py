from __future__ import annotations

import aiohttp
import pytest

from .client import User
from .stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def stack(database_url, redis_url, tmp_path_factory) -> Stack:
    """One system for the e2e session: four services as processes on free ports."""
    system = Stack(database_url, redis_url, tmp_path_factory.mktemp("stack-logs")).start()
    yield system
    system.stop()


@pytest.fixture
def fresh_stack(scratch_database_url, redis_url, tmp_path):
    """A system of the test's own, for tests that kill processes or look at every row."""
    systems = []

    def start(**env: str) -> Stack:
        system = Stack(scratch_database_url, redis_url, tmp_path / f"logs-{len(systems)}", **env)
        system.log_dir.mkdir()
        systems.append(system.start())
        return system

    yield start
    for system in systems:
        system.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bob(stack, http) -> User:
    return await User(http, stack.url, "Bob").register()


@pytest.fixture
async def alice(stack, http) -> User:
    return await User(http, stack.url, "Alice").register()
