"""The schedule timer: every tick, one level-triggered reconciliation pass per CounterSync."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from countersync import reconciler
from countersync.handlers.jobs import INDEX_ID

STATE_KEY = "countersync_state"


async def tick(
        body: kopf.Body,
        meta: kopf.Meta,
        memo: kopf.Memo,
        patch: kopf.Patch,
        logger: logging.Logger,
        **kwargs: Any,
) -> None:
    index: kopf.Index[Any, Any] = kwargs[INDEX_ID]
    indexed = list(index.get((meta.namespace, meta.name), []))
    state = memo.get(STATE_KEY)
    if state is None:
        state = memo[STATE_KEY] = reconciler.ObjectState()
    deps = reconciler.Deps(
        kube=memo.kube,
        config=memo.config,
        post_event=lambda type_, reason, message: kopf.event(body, type=type_, reason=reason, message=message),
        adopt=lambda job: kopf.adopt(job, owner=body),
        logger=logger,
    )
    changes = await reconciler.reconcile(body=body, indexed_jobs=indexed, state=state, deps=deps)
    for key, value in changes.items():
        patch.status[key] = value
