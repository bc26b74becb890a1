"""Render the chart with the real Helm engine (helm-python binds Helm's Go SDK; no cluster)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from chart_helpers import CHART, CLUSTER_SCOPED, NAMESPACE, RELEASE


@pytest.fixture(scope="session")
def helm() -> Any:
    return pytest.importorskip("helm_python", reason="helm-python-sdk is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="session")
def chart(helm: Any) -> Any:
    return helm.Chart.load(str(CHART))


@pytest.fixture(scope="session")
def render(chart: Any):
    """render(values, is_upgrade=False) -> every rendered object (NOTES.txt left out), namespaced like Helm would."""
    cache: dict[str, list[dict[str, Any]]] = {}

    def _render(values: dict[str, Any] | None = None, *, is_upgrade: bool = False) -> list[dict[str, Any]]:
        key = yaml.safe_dump([values, is_upgrade])
        if key not in cache:
            out = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=not is_upgrade,
                               is_upgrade=is_upgrade, revision=2 if is_upgrade else 1)
            objs: list[dict[str, Any]] = []
            for path, text in sorted(out.items()):
                if path.endswith("NOTES.txt"):
                    continue
                for doc in yaml.safe_load_all(text):
                    if not doc:
                        continue
                    if doc.get("kind") not in CLUSTER_SCOPED:
                        doc.setdefault("metadata", {}).setdefault("namespace", NAMESPACE)
                    objs.append(doc)
            cache[key] = objs
        return cache[key]

    return _render
