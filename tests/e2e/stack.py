"""The four services as real processes for a test, started the way `make run` starts them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from devstack.processes import Ports, ServiceGroup, core_services, edge_services


class Stack:
    def __init__(self, database_url: str, redis_url: str, log_dir: Path, **env: str) -> None:
        self.ports = Ports.free()
        self.log_dir = log_dir
        self.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "JWT_SECRET": secrets.token_urlsafe(32), "LOG_FORMAT": "json", **env}
        self.group = ServiceGroup(self.env)
        self.edges: list[Ports] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def start(self) -> "Stack":
        try:
            self.group.start(core_services(self.ports, self.log_dir))
        except Exception:
            self.stop()
            raise
        return self

    def add_edge(self) -> str:
        """A second syncer + gateway pair on other ports, sharing Postgres, Redis, messenger and counter."""
        ports = Ports.free()
        ports.messenger, ports.counter = self.ports.messenger, self.ports.counter
        self.group.start(edge_services(ports, f"-{len(self.edges) + 2}", self.log_dir))
        self.edges.append(ports)
        return f"http://127.0.0.1:{ports.gateway}"

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        self.group.stop()
