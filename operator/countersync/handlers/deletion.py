"""When a CounterSync goes, its Jobs go too.

Owner references already make the garbage collector do this; deleting explicitly (pods with them,
propagation Background) makes it immediate and does not depend on the collector's pace. Best
effort: a failure here is logged and never blocks the deletion.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from countersync import constants, kube


async def delete_jobs(name: str, namespace: str, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    client: kube.Kube = memo.kube
    try:
        jobs = await client.list(kube.jobs_path(namespace),
                                 label_selector=f"{constants.LABEL_COUNTERSYNC}={name}")
        for job in jobs:
            meta = job.get("metadata") or {}
            labels = meta.get("labels") or {}
            if labels.get(constants.LABEL_COUNTERSYNC) != name or \
                    labels.get(constants.LABEL_MANAGED_BY) != constants.MANAGED_BY:
                continue
            await client.delete(kube.jobs_path(namespace, meta["name"]))
            logger.info("deleted Job %s of the deleted CounterSync", meta["name"])
    except kube.ApiError as e:
        logger.warning("could not delete the Jobs of %s/%s (the garbage collector will): %s", namespace, name, e)
