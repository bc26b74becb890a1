"""On a real cluster: the seed walkthrough through a port-forwarded gateway, then a corrupted
counter repaired by a CounterSync's Job, as its status reports.

Skipped unless docker, kind, kubectl, curl, jq and websocat are present and KIND_E2E=1
(`make e2e-kind`; CI: .github/workflows/kind-e2e.yml).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from .cluster import FULLNAME, REPO, VENV_BIN, Cluster, http, port_forward, wait_for

pytestmark = [pytest.mark.kind, pytest.mark.timeout(3600)]

WALKTHROUGH = REPO / "tests" / "e2e" / "seed_walkthrough.sh"


@pytest.fixture(scope="module")
def gateway(kind: Cluster) -> Any:
    with port_forward(kind, f"{FULLNAME}-gateway", 10000) as base:
        yield base


@pytest.fixture(scope="module")
def walkthrough(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seed's curl/websocat walkthrough, verbatim but for the address."""
    out = tmp_path_factory.mktemp("walkthrough")
    script = WALKTHROUGH.read_text().replace("localhost:10000", gateway.removeprefix("http://"))
    env = {**os.environ, "WALKTHROUGH_OUT": str(out), "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    alice_token = http("POST", f"{gateway}/auth/sign-in", {"email": "alice@email.com", "password": "1234567890"})["access_token"]
    alice_id = http("GET", f"{gateway}/auth/user/get-by-email?email=alice@email.com", token=alice_token)["user_id"]
    return {
        "chat_id": (out / "chat_id.txt").read_text().strip(),
        "history": json.loads((out / "history.json").read_text()),
        "alice_live": (out / "alice.txt").read_text(),
        "alice_token": alice_token,
        "alice_id": alice_id,
    }


def test_walkthrough_through_the_port_forward(walkthrough):
    history = walkthrough["history"]
    assert history["total"] == 3
    assert [m["text"] for m in history["messages"]] == ["Hello, Alice!", "What is up?", "I miss you!"]
    assert "Hello, Alice!" in walkthrough["alice_live"]  # delivered live to Alice's WebSocket


def test_a_countersync_repairs_a_corrupted_counter(kind: Cluster, gateway: str, walkthrough):
    chat, alice, token = walkthrough["chat_id"], walkthrough["alice_id"], walkthrough["alice_token"]

    def unread() -> int:
        return int(http("GET", f"{gateway}/counter/unread?chat_id={chat}", token=token)["unread"])

    assert unread() == 0  # Alice read everything live

    # Corrupt the durable counter behind the services' back, and lose the hot copy, so that
    # the API serves the wrong number until reconciliation fixes it.
    sql = f"UPDATE counters SET unread = unread + 5 WHERE user_id = '{alice}' AND chat_id = '{chat}'"
    kind.kubectl("exec", f"{FULLNAME}-postgresql-0", "--", "sh", "-c",
                 f'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "{sql}"')
    kind.kubectl("exec", f"{FULLNAME}-redis-0", "--", "sh", "-c", "valkey-cli FLUSHALL")
    assert wait_for(lambda: unread() == 5, timeout=30, what="the corrupted counter to show")

    manifest = {
        "apiVersion": "unread.example.com/v1alpha1",
        "kind": "CounterSync",
        "metadata": {"name": "e2e-repair", "annotations": {"unread.example.com/run-now": "e2e"}},
        "spec": {"schedule": "0 0 1 1 *", "mode": "Repair", "full": True, "job": {"shards": 2},
                 "scaling": {"maxParallelism": 2}},
    }
    kind.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

    def last_run() -> dict[str, Any] | None:
        status = kind.get_json("countersync", "e2e-repair").get("status") or {}
        return status.get("lastRun")

    run_ = wait_for(last_run, timeout=600, what="the CounterSync's run to finish", on_timeout=kind.dump)
    assert run_["result"] == "Succeeded", (run_, kind.dump())
    assert run_["driftFound"] >= 1 and run_["repaired"] >= 1
    assert run_["shards"] == 2 and run_["shardsReported"] == 2
    assert unread() == 0

    status = kind.get_json("countersync", "e2e-repair")["status"]
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Ready"]["status"] == "True" and conds["Degraded"]["status"] == "False"
    assert status["lastRunNowToken"] == "e2e" and status["activeCount"] == 0
    job = kind.get_json("job", run_["job"])
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 2
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CounterSync"
    printed = kind.kubectl("get", "cs", "e2e-repair").stdout
    assert "Succeeded" in printed and "Repair" in printed

    # Deleting the CounterSync takes its Jobs with it.
    kind.kubectl("delete", "countersync", "e2e-repair", "--wait=true", timeout=120)
    wait_for(lambda: not kind.get_json("jobs", "-l", "unread.example.com/countersync=e2e-repair")["items"],
             timeout=120, what="the Jobs to be gone")
