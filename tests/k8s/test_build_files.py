"""The files around the chart agree with it and with the code: Dockerfile, skaffold.yaml, k8s.mk,
the CI workflow. (Docker itself is not available here; these are the checks that need none.)"""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml

from chart_helpers import CHART, REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
SKAFFOLD = yaml.safe_load((REPO / "skaffold.yaml").read_text())
K8S_MK = (REPO / "k8s.mk").read_text()
SERVICES = {"gateway": "gateway", "messenger": "messenger", "counter": "counter", "syncer": "syncer",
            "operator": "countersync"}


def stages(text: str) -> list[str]:
    return re.split(r"(?m)^FROM ", text)[1:]


def test_dockerfile_is_multi_stage_slim_and_unprivileged():
    parts = stages(DOCKERFILE)
    assert len(parts) >= 2
    final = parts[-1]
    assert final.startswith("python:${PYTHON_VERSION}-slim")
    assert "ARG PYTHON_VERSION=3.11" in DOCKERFILE
    assert re.search(r"(?m)^USER 10001:10001$", final)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "COPY migrations /app/migrations" in final and "MIGRATIONS_DIR=/app/migrations" in final
    assert "ARG SERVICE" in final
    for forbidden in ("apt-get install", "build-essential", "gcc", "pip install"):
        assert forbidden not in final, forbidden
    # The chart runs as uid 10001 with a read-only root filesystem: the image must agree.
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 10001


def test_dockerignore_lets_in_what_the_build_copies():
    ignore = (REPO / ".dockerignore").read_text().split()
    for needed in ("pyproject.toml", "services/", "operator/", "tools/", "migrations/"):
        assert f"!{needed}" in ignore
    for copied in re.findall(r"(?m)^COPY (?!--from)(\S+)", DOCKERFILE):
        assert f"!{copied.rstrip('/')}/" in ignore or f"!{copied}" in ignore, copied


@pytest.mark.parametrize("name, module", sorted(SERVICES.items()))
def test_every_image_has_an_entry_point(name, module):
    assert importlib.util.find_spec(f"{module}.__main__") is not None, module
    assert f"{name}:{module}" in K8S_MK


def test_skaffold_builds_one_artifact_per_image():
    artifacts = {a["image"]: a["docker"]["buildArgs"]["SERVICE"] for a in SKAFFOLD["build"]["artifacts"]}
    assert artifacts == {f"unread-counters/{name}": module for name, module in SERVICES.items()}
    assert all(a["docker"]["dockerfile"] == "Dockerfile" for a in SKAFFOLD["build"]["artifacts"])


def test_skaffold_sets_real_chart_values(render):
    (release,) = SKAFFOLD["deploy"]["helm"]["releases"]
    assert (REPO / release["chartPath"]).resolve() == CHART.resolve()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    sanitized = {re.sub(r"[^A-Za-z0-9_]", "_", a["image"]) for a in SKAFFOLD["build"]["artifacts"]}
    for key, template in release["setValueTemplates"].items():
        node = values
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{key} is not a chart value"
            node = node[part]
        (name,) = re.findall(r"IMAGE_FULLY_QUALIFIED_(\w+)", template)
        assert name in sanitized, template
    for key in release.get("setValues", {}):
        assert key.split(".")[0] in values


def test_skaffold_profiles_and_port_forward(chart):
    assert {p["name"] for p in SKAFFOLD["profiles"]} >= {"dev", "ci", "debug"}
    (forward,) = SKAFFOLD["portForward"]
    (release,) = SKAFFOLD["deploy"]["helm"]["releases"]
    out = chart.render({}, name=release["name"], namespace=release["namespace"], is_install=True)
    services = [d["metadata"]["name"] for path, text in out.items() if not path.endswith("NOTES.txt")
                for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") == "Service"]
    assert forward["resourceName"] in services and forward["port"] == 10000
    for profile in SKAFFOLD["profiles"]:
        for patch in profile.get("patches", []):
            if patch["op"] == "add" and "/setValues/" in patch["path"]:
                key = patch["path"].split("/setValues/")[1]
                node = yaml.safe_load((CHART / "values.yaml").read_text())
                for part in key.split("."):
                    assert part in node, f"profile {profile['name']}: {key} is not a chart value"
                    node = node[part]


def test_make_targets_exist():
    targets = set(re.findall(r"(?m)^([a-z][a-z0-9-]*):", K8S_MK))
    assert targets >= {"kind-up", "kind-down", "deploy", "dev", "e2e-kind", "helm-lint"}
    assert "-include k8s.mk" in (REPO / "Makefile").read_text() or "include k8s.mk" in (REPO / "Makefile").read_text()


def test_ci_workflow_runs_the_kind_e2e():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "kind-e2e.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["kind"]["steps"]]
    assert any("tests/e2e/kind" in s and "-m kind" in s for s in steps)
    env = next(s["env"] for s in workflow["jobs"]["kind"]["steps"] if "env" in s)
    assert env["KIND_E2E"] == "1"
