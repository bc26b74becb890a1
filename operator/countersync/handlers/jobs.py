"""The index of child Jobs: (namespace, CounterSync name) -> the Jobs' essentials.

Passes read the index instead of listing Jobs from the API every tick.
"""

from __future__ import annotations

from typing import Any

import kopf

from countersync import constants, planning

INDEX_ID = "countersync_jobs"


def index_job(body: kopf.Body, namespace: str | None, labels: kopf.Labels, **_: Any) -> Any:
    owner = labels.get(constants.LABEL_COUNTERSYNC)
    if not owner or namespace is None:
        return None
    return {(namespace, owner): planning.JobInfo.from_job(body)}
