"""Operator configuration from the environment (the chart sets these), with explicit defaults."""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Mapping
from typing import Any

import yaml


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Config:
    # Where to watch: explicit namespaces, or every namespace (needs the ClusterRole variant).
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    # How often each CounterSync is re-evaluated; schedules fire at most this late.
    tick_seconds: float = 5.0
    # The syncer's backlog endpoint, e.g. http://uc-syncer:9103/backlog. Empty: do not measure.
    backlog_url: str = ""
    backlog_timeout_seconds: float = 3.0
    # Pod defaults for reconcile Jobs: image, env (DATABASE_URL, REDIS_URL), SA, security context.
    job_template: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    job_image: str = ""
    # A Job still active this long after its activeDeadlineSeconds is declared stuck and deleted.
    stuck_grace_seconds: float = 300.0
    # A just-created Job counts as active this long even before the watch shows it.
    pending_grace_seconds: float = 60.0
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz"
    # The clock the schedule is evaluated against; tests pass a controllable one.
    clock: Callable[[], datetime.datetime] = utcnow

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        template: dict[str, Any] = {}
        path = env.get("COUNTERSYNC_JOB_TEMPLATE", "")
        if path:
            with open(path, encoding="utf-8") as f:
                loaded = yaml.safe_load(f) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: the job template must be a YAML mapping")
            template = loaded
        namespaces = tuple(n.strip() for n in env.get("COUNTERSYNC_NAMESPACES", "").split(",") if n.strip())
        return cls(
            namespaces=namespaces,
            all_namespaces=_bool(env.get("COUNTERSYNC_ALL_NAMESPACES", "")),
            tick_seconds=float(env.get("COUNTERSYNC_TICK_SECONDS", cls.tick_seconds)),
            backlog_url=env.get("COUNTERSYNC_BACKLOG_URL", ""),
            backlog_timeout_seconds=float(env.get("COUNTERSYNC_BACKLOG_TIMEOUT_SECONDS", cls.backlog_timeout_seconds)),
            job_template=template,
            job_image=env.get("COUNTERSYNC_JOB_IMAGE", ""),
            stuck_grace_seconds=float(env.get("COUNTERSYNC_STUCK_GRACE_SECONDS", cls.stuck_grace_seconds)),
            pending_grace_seconds=float(env.get("COUNTERSYNC_PENDING_GRACE_SECONDS", cls.pending_grace_seconds)),
            liveness_endpoint=env.get("COUNTERSYNC_LIVENESS", cls.liveness_endpoint) or None,
        )


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")
