"""The CounterSync CRD: a valid, structural Kubernetes object; the examples validate against its
schema; its defaults are the operator's; the status the operator writes fits it."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from chart_helpers import CRD, REPO
from countersync import conditions, constants, results, spec as spec_module

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD.read_text())


@pytest.fixture(scope="module")
def schema(crd) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def as_json_schema(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes dialect) -> JSON Schema: drop the x-kubernetes-* extensions."""
    if isinstance(node, dict):
        return {k: as_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if isinstance(node, list):
        return [as_json_schema(v) for v in node]
    return node


def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(as_json_schema(schema), format_checker=jsonschema.FormatChecker())


def test_crd_is_a_valid_kubernetes_object(crd):
    kubernetes_validate.validate(crd, "1.32", strict=True)


def test_names_match_the_operator(crd):
    assert crd["metadata"]["name"] == f"{constants.PLURAL}.{constants.GROUP}"
    assert crd["spec"]["group"] == constants.GROUP
    assert crd["spec"]["names"]["kind"] == constants.KIND
    assert crd["spec"]["names"]["plural"] == constants.PLURAL
    assert crd["spec"]["names"]["shortNames"] == ["cs"]
    assert crd["spec"]["scope"] == "Namespaced"
    (version,) = crd["spec"]["versions"]
    assert version["name"] == constants.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}


def test_printer_columns(crd):
    columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Schedule", "Mode", "Suspend", "Active", "Last Schedule", "Last Result", "Drift", "Age"]


def test_schema_is_structural(schema):
    """Every node says its type (or is int-or-string), so the API server prunes and defaults."""
    def walk(node: dict[str, Any], path: str) -> None:
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"
        for name, child in (node.get("properties") or {}).items():
            walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}{{}}")
    walk(schema, "")
    assert "x-kubernetes-preserve-unknown-fields" not in json.dumps(schema)


def crd_defaults(node: dict[str, Any]) -> Any:
    out = {}
    for name, child in (node.get("properties") or {}).items():
        if child.get("type") == "object" and child.get("properties"):
            inner = crd_defaults(child)
            if inner:
                out[name] = inner
        elif "default" in child:
            out[name] = child["default"]
    return out


def test_defaults_are_the_operators(schema):
    assert crd_defaults(schema["properties"]["spec"]) == spec_module.DEFAULTS


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate_against_the_schema(path, schema):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        assert doc["apiVersion"] == constants.API_VERSION and doc["kind"] == constants.KIND
        validator(schema).validate(doc)
        parsed = spec_module.parse(doc["spec"], name=doc["metadata"]["name"])
        assert parsed.valid, (parsed.problems, parsed.schedule_problem)


@pytest.mark.parametrize("patch, where", [
    ({"mode": "Fix"}, "mode"),
    ({"concurrencyPolicy": "Sometimes"}, "concurrencyPolicy"),
    ({"job": {"shards": 0}}, "shards"),
    ({"job": {"activeDeadlineSeconds": 0}}, "activeDeadlineSeconds"),
    ({"scaling": {"pairsPerWorker": 0}}, "pairsPerWorker"),
    ({"schedule": ""}, "schedule"),
    ({"suspend": "yes"}, "suspend"),
    ({"job": {"resources": {"limits": {"memory": [1]}}}}, "memory"),
])
def test_the_schema_rejects_nonsense(schema, patch, where):
    doc = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "metadata": {"name": "x"},
           "spec": {"schedule": "0 * * * *", **patch}}
    errors = list(validator(schema).iter_errors(doc))
    assert errors and any(where in "/".join(map(str, e.absolute_path)) + e.message for e in errors)


def test_cel_rules_are_declared(schema):
    root_rules = [r["rule"] for r in schema["x-kubernetes-validations"]]
    assert any(str(constants.MAX_COUNTERSYNC_NAME) in r for r in root_rules)
    spec_rules = [r["rule"] for r in schema["properties"]["spec"]["x-kubernetes-validations"]]
    assert any("minParallelism <= self.scaling.maxParallelism" in r for r in spec_rules)


def test_the_status_the_operator_writes_fits_the_schema(schema):
    now = datetime.datetime(2026, 1, 1, 12, 7, tzinfo=datetime.timezone.utc)
    summary = json.dumps({"checked": 10, "drifted": 2, "repaired": 2, "duration_s": 1.0,
                          "shard": 0, "shards": 1, "mode": "repair", "full": True})
    pod = {"metadata": {"annotations": {constants.POD_INDEX_KEY: "0"}},
           "status": {"containerStatuses": [{"name": constants.CONTAINER,
                                             "state": {"terminated": {"exitCode": 0, "message": summary}}}]}}
    job = {"name": "nightly-29454485", "trigger": "schedule", "completions": 1, "parallelism": 1,
           "scheduled_at": now, "status": {"conditions": [{"type": "Complete", "status": "True"}],
                                           "completionTime": "2026-01-01T12:06:00Z", "startTime": "2026-01-01T12:05:01Z"}}
    status = {
        "observedGeneration": 3,
        "conditions": conditions.merge(None, [conditions.Condition("Ready", True, "Scheduled", "next"),
                                              conditions.Condition("Degraded", False, "AsExpected")],
                                       now=now, generation=3),
        "active": [{"name": "nightly-29454490", "trigger": "schedule", "scheduledTime": "2026-01-01T12:10:00Z",
                    "parallelism": 2}],
        "activeCount": 1, "currentParallelism": 2,
        "lastScheduleTime": "2026-01-01T12:10:00Z", "lastSkippedTime": "2026-01-01T11:55:00Z",
        "lastSuccessfulTime": "2026-01-01T12:06:00Z", "nextScheduleTime": "2026-01-01T12:15:00Z",
        "lastRunNowToken": "t", "lastRun": results.summarize(job, [pod], now=now),
    }
    doc = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "metadata": {"name": "nightly"},
           "spec": {"schedule": "*/5 * * * *"}, "status": status}
    validator(schema).validate(doc)
    broken = copy.deepcopy(doc)
    broken["status"]["lastRun"]["result"] = "Maybe"
    assert list(validator(schema).iter_errors(broken))
