"""Build the Indexed Job of one reconciliation run. Pure: same inputs, same manifest.

Names are deterministic (``<countersync>-<scheduled unix minute>`` for scheduled runs,
``<countersync>-m<hash of the run-now token>`` for manual ones), so a create retried after a
timeout or an operator restart meets a 409 instead of starting a second run.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
from collections.abc import Mapping
from typing import Any

from countersync import constants, schedule
from countersync.spec import CounterSyncSpec

TRIGGER_SCHEDULE = "schedule"
TRIGGER_MANUAL = "manual"

DEFAULT_POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
DEFAULT_CONTAINER_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def scheduled_job_name(countersync: str, slot: datetime.datetime) -> str:
    return f"{countersync}-{int(slot.timestamp()) // 60}"


def manual_job_name(countersync: str, token: str) -> str:
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]
    return f"{countersync}-m{digest}"


def reconcile_args(spec: CounterSyncSpec) -> list[str]:
    """Arguments for ``python -m syncer reconcile``; the shard comes from JOB_COMPLETION_INDEX."""
    args = ["--mode", spec.mode.lower(), "--shards", str(spec.job.shards)]
    if spec.full:
        args.append("--full")
    per_shard = spec.max_repairs_per_shard()
    if per_shard is not None and spec.mode == "Repair":
        args += ["--max-repairs", str(per_shard)]
    return args


def build_job(
        *,
        countersync: str,
        namespace: str,
        spec: CounterSyncSpec,
        name: str,
        trigger: str,
        scheduled_at: datetime.datetime,
        created_at: datetime.datetime,
        parallelism: int,
        parallelism_reason: str,
        template: Mapping[str, Any] | None = None,
        default_image: str = "",
        manual_token: str | None = None,
) -> dict[str, Any]:
    """The Job manifest. ``template`` is the operator's pod defaults (image, env, SA, security)."""
    template = copy.deepcopy(dict(template or {}))
    image = spec.job.image or template.get("image") or default_image
    if not image:
        raise ValueError("no image for the reconcile Job: set spec.job.image or the operator's job template")

    labels = {
        "app.kubernetes.io/name": "countersync-reconcile",
        "app.kubernetes.io/component": "reconcile",
        "app.kubernetes.io/part-of": "unread-counters",
        constants.LABEL_MANAGED_BY: constants.MANAGED_BY,
        constants.LABEL_COUNTERSYNC: countersync,
        constants.LABEL_TRIGGER: trigger,
    }
    annotations = {
        constants.ANN_SCHEDULED_AT: schedule.format_time(scheduled_at),
        constants.ANN_CREATED_AT: schedule.format_time(created_at),
        constants.ANN_PARALLELISM_REASON: parallelism_reason,
    }
    if manual_token is not None:
        annotations[constants.ANN_MANUAL_TOKEN] = manual_token[:253]

    pod_labels = {**dict(template.get("podLabels") or {}), **labels}
    pod_annotations = dict(template.get("podAnnotations") or {})

    container: dict[str, Any] = {
        "name": constants.CONTAINER,
        "image": image,
        "command": ["python", "-m", "syncer", "reconcile"],
        "args": reconcile_args(spec),
        # The CLI writes its JSON summary there; on a crash the log tail explains the failure.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": template.get("securityContext") or DEFAULT_CONTAINER_SECURITY_CONTEXT,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if template.get("imagePullPolicy"):
        container["imagePullPolicy"] = template["imagePullPolicy"]
    env = list(template.get("env") or [])
    if env:
        container["env"] = env
    if template.get("envFrom"):
        container["envFrom"] = list(template["envFrom"])
    resources = spec.job.resources or template.get("resources")
    if resources:
        container["resources"] = dict(resources)

    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": template.get("podSecurityContext") or DEFAULT_POD_SECURITY_CONTEXT,
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    for key in ("serviceAccountName", "priorityClassName"):
        if template.get(key):
            pod_spec[key] = template[key]
    for key in ("imagePullSecrets", "tolerations"):
        if template.get(key):
            pod_spec[key] = list(template[key])
    for key in ("nodeSelector", "affinity"):
        if template.get(key):
            pod_spec[key] = dict(template[key])

    job_spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": spec.job.shards,
        "parallelism": max(1, min(parallelism, spec.job.shards)),
        "backoffLimitPerIndex": spec.job.backoff_limit_per_index,
        "activeDeadlineSeconds": spec.job.active_deadline_seconds,
        "podFailurePolicy": {
            "rules": [
                # Exit 3 is an answer ("drift found, not all repaired"), not a crash: retrying
                # the shard would only find the same drift again.
                {
                    "action": "FailIndex",
                    "onExitCodes": {
                        "containerName": constants.CONTAINER,
                        "operator": "In",
                        "values": [constants.EXIT_DRIFT],
                    },
                },
                # A drained node or a preemption is not the shard's fault: do not count it.
                {
                    "action": "Ignore",
                    "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                },
            ],
        },
        "template": {
            "metadata": {"labels": pod_labels, **({"annotations": pod_annotations} if pod_annotations else {})},
            "spec": pod_spec,
        },
    }
    if spec.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = spec.ttl_seconds_after_finished

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": job_spec,
    }
