"""The four services as child processes, started the way `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

STOP_TIMEOUT_S = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ports:
    gateway: int = 10000
    messenger: int = 50051
    counter: int = 50052
    syncer: int = 50053
    messenger_http: int = 9101
    counter_http: int = 9102
    syncer_http: int = 9103

    @classmethod
    def free(cls) -> "Ports":
        return cls(*(free_port() for _ in range(7)))


@dataclass
class Service:
    name: str
    module: str
    env: dict[str, str]
    ready: str  # "http://..." for an HTTP readiness URL, "grpc://host:port" for gRPC health
    log_path: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, base_env: dict[str, str]) -> None:
        out = open(self.log_path, "ab") if self.log_path else None
        # A session of its own: Ctrl-C reaches only the launcher, which stops children in order.
        self.process = subprocess.Popen([sys.executable, "-m", self.module], env={**base_env, **self.env},
                                        stdout=out, stderr=subprocess.STDOUT if out else None,
                                        start_new_session=True)
        if out:
            out.close()

    def is_ready(self) -> bool:
        if self.ready.startswith("http"):
            try:
                with urllib.request.urlopen(self.ready, timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False
        with grpc.insecure_channel(self.ready.removeprefix("grpc://")) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                return reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                return False

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()


def _addresses(ports: Ports) -> dict[str, str]:
    return {"MESSENGER_ADDR": f"127.0.0.1:{ports.messenger}", "COUNTER_ADDR": f"127.0.0.1:{ports.counter}",
            "SYNCER_ADDR": f"127.0.0.1:{ports.syncer}"}


def _log_file(log_dir: Path | None, name: str) -> Path | None:
    return log_dir / f"{name}.log" if log_dir else None


def core_services(ports: Ports, log_dir: Path | None = None) -> list[Service]:
    """messenger, counter, syncer and gateway, wired to each other on `ports`."""
    return [
        Service("messenger", "messenger", {"GRPC_PORT": str(ports.messenger), "METRICS_PORT": str(ports.messenger_http)},
                f"grpc://127.0.0.1:{ports.messenger}", _log_file(log_dir, "messenger")),
        Service("counter", "counter",
                {"GRPC_PORT": str(ports.counter), "METRICS_PORT": str(ports.counter_http), **_addresses(ports)},
                f"grpc://127.0.0.1:{ports.counter}", _log_file(log_dir, "counter")),
        *edge_services(ports, "", log_dir),
    ]


def edge_services(ports: Ports, suffix: str, log_dir: Path | None = None) -> list[Service]:
    """A syncer and a gateway: the pair a second replica adds (suffix names it)."""
    addr = _addresses(ports)

    def log(name: str) -> Path | None:
        return _log_file(log_dir, f"{name}{suffix}")

    return [
        Service(f"syncer{suffix}", "syncer", {"GRPC_PORT": str(ports.syncer), "METRICS_PORT": str(ports.syncer_http), **addr},
                f"grpc://127.0.0.1:{ports.syncer}", log("syncer")),
        Service(f"gateway{suffix}", "gateway", {"GATEWAY_PORT": str(ports.gateway), **addr},
                f"http://127.0.0.1:{ports.gateway}/readyz", log("gateway")),
    ]


class ServiceGroup:
    def __init__(self, base_env: dict[str, str]) -> None:
        self.base_env = base_env
        self.services: list[Service] = []

    def start(self, services: list[Service], timeout_s: float = 60) -> None:
        for service in services:
            service.start(self.base_env)
            self.services.append(service)
        self.wait_ready(services, timeout_s)

    def wait_ready(self, services: list[Service], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = list(services)
        while waiting:
            for service in list(waiting):
                code = service.exited()
                if code is not None:
                    raise RuntimeError(f"{service.name} exited with code {code} while starting"
                                       + (f"; see {service.log_path}" if service.log_path else ""))
                if service.is_ready():
                    waiting.remove(service)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {', '.join(s.name for s in waiting)}")
            time.sleep(0.1)

    def first_exited(self) -> Service | None:
        return next((s for s in self.services if s.exited() is not None), None)

    def stop(self) -> None:
        # The edge first, the truth last: nothing new arrives while the rest drains.
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def get(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)
