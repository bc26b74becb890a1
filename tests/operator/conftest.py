"""Fixtures for the operator tests: a controllable clock, and the real operator against kmock."""

from __future__ import annotations

import asyncio
import datetime
import threading
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest

from countersync import constants, wiring
from countersync.config import Config

from cs_harness import CS_RESOURCE, NS, UTC, Backlog, Clock


@pytest.fixture()
def clock() -> Clock:
    return Clock(datetime.datetime(2026, 1, 1, 12, 3, 0, tzinfo=UTC))


@pytest.fixture()
def backlog() -> Backlog:
    return Backlog()


@pytest.fixture()
async def operator(kmock: Any, clock: Clock, backlog: Backlog) -> AsyncIterator[Config]:
    """The real operator (all handlers, real HTTP) against the emulated API, in this loop."""
    verbs = {"get", "list", "watch", "patch", "create", "update", "delete"}
    kmock.resources[CS_RESOURCE] = kmock.ResourceInfo(
        kind=constants.KIND, namespaced=True, verbs=verbs, subresources={"status"}, shortnames={"cs"})
    kmock.resources["batch/v1/jobs"] = kmock.ResourceInfo(kind="Job", namespaced=True, verbs=verbs,
                                                           subresources={"status"})
    kmock.resources["v1/pods"] = kmock.ResourceInfo(kind="Pod", namespaced=True, verbs=verbs)
    kmock.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs=verbs)
    # kopf waits for these two to be discovered before it starts any watch.
    kmock.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
        kind="CustomResourceDefinition", namespaced=False, verbs=verbs)
    kmock.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs=verbs)
    kmock["get /backlog"] << backlog.payload

    config = Config(
        namespaces=(NS,),
        tick_seconds=0.1,
        backlog_url=f"{str(kmock.url).rstrip('/')}/backlog",
        backlog_timeout_seconds=2.0,
        job_template={"image": "registry.local/unread-counters/syncer:test",
                      "serviceAccountName": "uc-reconcile",
                      "env": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}]},
        stuck_grace_seconds=30.0,
        pending_grace_seconds=5.0,
        liveness_endpoint=None,
        clock=clock,
    )
    registry = wiring.register(kopf.OperatorRegistry(), config)
    # kopf runs in a thread with a loop of its own: at exit it cancels every task it did not
    # start before itself, and in a shared loop that would include pytest's fixture teardown.
    # It reaches kmock (served by this loop) over real HTTP either way.
    stop_flag = threading.Event()
    ready_flag = threading.Event()
    settings = kopf.OperatorSettings()
    settings.queueing.idle_timeout = 0.5  # idle per-object workers exit fast: a quick, clean stop
    settings.queueing.exit_timeout = 0.5
    settings.persistence.consistency_timeout = 1.0  # a stopped watch never confirms the last patch
    coro = kopf.operator(
        registry=registry,
        settings=settings,
        clusterwide=True,  # kmock 0.8 cannot list namespaces; see tools-seen-working.md
        standalone=True,
        memo=kopf.Memo(config=config, connection=kopf.ConnectionInfo(server=str(kmock.url))),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(coro)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="kopf-operator", daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(ready_flag.wait, 10), "the operator did not start"
        yield config
    finally:
        stop_flag.set()
        await asyncio.to_thread(thread.join, 0.5)
        if thread.is_alive():
            # kopf gives tasks it considers hung 5 s before cancelling them; with kmock's constant
            # resourceVersion, a timer respawned during the stop is one of them. Cut it short.
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
            await asyncio.to_thread(thread.join, 10)
        assert not thread.is_alive(), "the operator did not stop"
