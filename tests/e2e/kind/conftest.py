"""The kind cluster for this folder: skipped, with the reason, wherever it cannot run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .cluster import Cluster, build_and_load_images, install_chart, kind_cluster, missing_prerequisite, uninstall_chart


@pytest.fixture(scope="session")
def kind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    if os.environ.get("KIND_E2E") != "1":
        pytest.skip("the kind e2e builds images and a cluster; run it with `make e2e-kind` (KIND_E2E=1)")
    with kind_cluster(tmp_path_factory.mktemp("kind")) as cluster:
        build_and_load_images(cluster)
        install_chart(cluster)
        try:
            yield cluster
        finally:
            if os.environ.get("KIND_KEEP") != "1":
                uninstall_chart(cluster)
