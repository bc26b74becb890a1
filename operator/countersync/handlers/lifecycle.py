"""Operator-level handlers: settings at startup, credentials, cleanup at exit."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from countersync import constants, kube
from countersync.config import Config


async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    cfg: Config = memo.setdefault("config", Config.from_env())
    # Watch only what is needed: no namespace or CRD observation, so a namespaced Role suffices.
    settings.scanning.disabled = True
    # Our own names for kopf's bookkeeping on the CounterSyncs.
    settings.persistence.finalizer = f"{constants.GROUP}/countersync-operator"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=constants.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=constants.GROUP, key="last-handled-configuration")
    # Only explicit kopf.event() calls become Kubernetes Events, not every log line.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # One instance runs (Deployment replicas 1, strategy Recreate); no peering objects needed.
    settings.peering.standalone = True
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    memo.kube = kube.Kube(lambda: _credentials(memo, logger, settings))
    logger.info("countersync operator: tick %.2fs, backlog %s, job image %s",
                cfg.tick_seconds, cfg.backlog_url or "(not configured)",
                cfg.job_template.get("image") or cfg.job_image or "(from each CounterSync)")


async def login(memo: kopf.Memo, logger: logging.Logger, settings: kopf.OperatorSettings,
                **_: Any) -> kopf.ConnectionInfo | None:
    return await _credentials(memo, logger, settings)


async def _credentials(memo: kopf.Memo, logger: logging.Logger,
                       settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    # A preset connection (tests, or an embedding program) wins over discovery.
    preset = memo.get("connection")
    if preset is not None:
        return preset  # type: ignore[no-any-return]
    # In a pod: the service account; on a laptop: the kubeconfig (via the official client).
    return kopf.login_via_client(logger=logger, settings=settings)


async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    client = memo.get("kube")
    if client is not None:
        await client.close()
