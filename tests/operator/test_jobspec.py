"""The Job builder: deterministic names, the reconcile command line, the pod's guard rails."""

from __future__ import annotations

import datetime

import kubernetes_validate
import pytest

from countersync import constants, jobspec
from countersync import spec as spec_module

UTC = datetime.timezone.utc
SLOT = datetime.datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
TEMPLATE = {
    "image": "ghcr.io/example/unread-counters-syncer:1.2.3",
    "imagePullPolicy": "IfNotPresent",
    "serviceAccountName": "uc-reconcile",
    "env": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "uc-db", "key": "database-url"}}}],
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    "podLabels": {"app.kubernetes.io/instance": "uc"},
}


def parse(**raw):
    parsed = spec_module.parse({"schedule": "*/5 * * * *", **raw}, name="nightly")
    assert parsed.valid, (parsed.problems, parsed.schedule_problem)
    return parsed.spec


def build(spec, **kwargs):
    args = dict(countersync="nightly", namespace="unread", spec=spec, name=jobspec.scheduled_job_name("nightly", SLOT),
                trigger=jobspec.TRIGGER_SCHEDULE, scheduled_at=SLOT, created_at=SLOT, parallelism=2,
                parallelism_reason="Backlog", template=TEMPLATE)
    args.update(kwargs)
    return jobspec.build_job(**args)


def test_names_are_deterministic_and_short_enough():
    assert jobspec.scheduled_job_name("nightly", SLOT) == f"nightly-{int(SLOT.timestamp()) // 60}"
    assert jobspec.manual_job_name("nightly", "t1") == jobspec.manual_job_name("nightly", "t1")
    assert jobspec.manual_job_name("nightly", "t1") != jobspec.manual_job_name("nightly", "t2")
    longest = "x" * constants.MAX_COUNTERSYNC_NAME
    for name in (jobspec.scheduled_job_name(longest, SLOT), jobspec.manual_job_name(longest, "t")):
        assert len(f"{name}-9999") <= 63  # an Indexed Job pod's hostname is "<job>-<index>"


def test_indexed_job_shape():
    job = build(parse(job={"shards": 4, "activeDeadlineSeconds": 900, "backoffLimitPerIndex": 1}))
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert (spec["completions"], spec["parallelism"]) == (4, 2)
    assert spec["activeDeadlineSeconds"] == 900 and spec["backoffLimitPerIndex"] == 1
    rules = spec["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "FailIndex" and rules[0]["onExitCodes"]["values"] == [3]
    assert rules[1]["action"] == "Ignore"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "syncer", "reconcile"]
    assert container["args"] == ["--mode", "verify", "--shards", "4"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == "uc-reconcile"
    assert container["env"] == TEMPLATE["env"]
    assert container["resources"] == TEMPLATE["resources"]
    labels = job["metadata"]["labels"]
    assert labels[constants.LABEL_COUNTERSYNC] == "nightly"
    assert labels[constants.LABEL_MANAGED_BY] == constants.MANAGED_BY
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == "uc"
    assert job["metadata"]["annotations"][constants.ANN_SCHEDULED_AT] == "2026-01-01T12:05:00Z"


def test_parallelism_never_exceeds_completions():
    assert build(parse(job={"shards": 2}), parallelism=9)["spec"]["parallelism"] == 2


def test_repair_full_and_repair_cap_split_across_shards():
    spec = parse(mode="Repair", full=True, maxRepairsPerRun=10, job={"shards": 4})
    assert jobspec.reconcile_args(spec) == ["--mode", "repair", "--shards", "4", "--full", "--max-repairs", "3"]
    # In verify mode a repair cap means nothing and is not passed.
    assert "--max-repairs" not in jobspec.reconcile_args(parse(maxRepairsPerRun=10))


def test_countersync_overrides_image_and_resources_and_ttl():
    job = build(parse(ttlSecondsAfterFinished=600,
                      job={"image": "mine:1", "resources": {"limits": {"memory": "1Gi"}}}))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mine:1"
    assert container["resources"] == {"limits": {"memory": "1Gi"}}
    assert job["spec"]["ttlSecondsAfterFinished"] == 600


def test_no_image_anywhere_is_an_error():
    with pytest.raises(ValueError, match="no image"):
        build(parse(), template={})


def test_manual_run_carries_its_token():
    job = build(parse(), name=jobspec.manual_job_name("nightly", "tok"), trigger=jobspec.TRIGGER_MANUAL,
                manual_token="tok")
    assert job["metadata"]["labels"][constants.LABEL_TRIGGER] == "manual"
    assert job["metadata"]["annotations"][constants.ANN_MANUAL_TOKEN] == "tok"


@pytest.mark.parametrize("raw", [
    {},
    {"mode": "Repair", "full": True, "maxRepairsPerRun": 5, "ttlSecondsAfterFinished": 60,
     "job": {"shards": 16, "resources": {"requests": {"cpu": "50m"}, "limits": {"memory": "256Mi"}}}},
])
def test_the_job_is_a_valid_kubernetes_object(raw):
    job = build(parse(**raw))
    job["metadata"]["ownerReferences"] = [{"apiVersion": constants.API_VERSION, "kind": constants.KIND,
                                           "name": "nightly", "uid": "0a1b", "controller": True,
                                           "blockOwnerDeletion": True}]
    kubernetes_validate.validate(job, "1.32", strict=True)
