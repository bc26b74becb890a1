"""The chart, rendered for every supported variant, linted, and validated object by object
against the Kubernetes 1.32 schemas (kubernetes-validate, strict: unknown fields fail)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from chart_helpers import CHART, NAMESPACE, RELEASE, by_kind, env_of, one, pod_spec

EXTERNAL = {
    "postgresql": {"enabled": False},
    "redis": {"enabled": False},
    "externalDatabase": {"existingSecret": "prod-db", "existingSecretKey": "dsn"},
    "externalRedis": {"existingSecret": "prod-redis", "existingSecretKey": "url"},
}
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "external-stores": EXTERNAL,
    "hpa": {svc: {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 12}}
            for svc in ("gateway", "messenger", "counter", "syncer")},
    "operator-off": {"operator": {"enabled": False}},
    "operator-cluster-wide": {"operator": {"clusterWide": True}},
    "operator-more-namespaces": {"operator": {"watchNamespaces": ["unread", "team-b"]}},
    "no-pdb-no-persistence": {
        **{svc: {"pdb": {"enabled": False}} for svc in ("gateway", "messenger", "counter", "syncer")},
        "postgresql": {"persistence": {"enabled": False}},
    },
    "own-jwt-and-registry": {
        "image": {"repository": "ghcr.io/acme/unread-counters", "tag": "1.2.3"},
        "imagePullSecrets": [{"name": "ghcr"}],
        "gateway": {"jwt": {"existingSecret": "my-jwt", "existingSecretKey": "key"},
                    "service": {"type": "LoadBalancer"}},
    },
    "skaffold-images": {svc: {"image": {"fullyQualified": f"localhost:5000/uc-{svc}:abc@sha256:{'0' * 64}"}}
                        for svc in ("gateway", "messenger", "counter", "syncer", "operator")},
    "only-stores": {svc: {"enabled": False} for svc in ("gateway", "messenger", "counter", "syncer", "operator")},
}
WORKLOADS = ("Deployment", "StatefulSet", "Job")


@pytest.fixture(params=sorted(VARIANTS), scope="module")
def variant(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, VARIANTS[request.param]


def test_lint_is_clean(helm, variant):
    name, values = variant
    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE)
    assert report["errors"] == [], report
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_values_pass_the_schema(chart, variant):
    chart.validate_schema(variant[1])


def test_every_object_is_valid_kubernetes_1_32(render, variant):
    objs = render(variant[1])
    assert objs
    for obj in objs:
        kubernetes_validate.validate(obj, "1.32", strict=True)


def test_upgrade_renders_too(render, variant):
    for obj in render(variant[1], is_upgrade=True):
        kubernetes_validate.validate(obj, "1.32", strict=True)


def test_every_workload_is_locked_down_and_probed(render, variant):
    for obj in render(variant[1]):
        if obj["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert c["resources"]["requests"] and c["resources"]["limits"], where
            if obj["kind"] != "Job":
                assert "readinessProbe" in c and "livenessProbe" in c, where


def test_standard_labels_everywhere(render, variant):
    for obj in render(variant[1]):
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                    "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"):
            assert key in labels, f"{obj['kind']}/{obj['metadata']['name']} lacks {key}"
        if obj["kind"] in ("Deployment", "StatefulSet"):
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


def test_services_select_their_pods(render, variant):
    objs = render(variant[1])
    pods = [o["spec"]["template"]["metadata"]["labels"] for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    for svc in by_kind(objs, "Service").values():
        assert any(svc["spec"]["selector"].items() <= labels.items() for labels in pods), svc["metadata"]["name"]


def test_defaults_deploy_the_whole_system(render):
    objs = render({})
    deployments = by_kind(objs, "Deployment")
    assert sorted(n.rsplit("-", 1)[-1] for n in deployments) == ["counter", "gateway", "messenger", "operator", "syncer"]
    assert sorted(n.rsplit("-", 1)[-1] for n in by_kind(objs, "StatefulSet")) == ["postgresql", "redis"]
    gateway_svc = one(objs, "Service", "-gateway")
    assert gateway_svc["spec"]["ports"] == [{"name": "http", "port": 10000, "targetPort": "http", "protocol": "TCP"}]


def test_grpc_services_use_native_grpc_probes(render):
    objs = render({})
    for svc, port in (("messenger", 50051), ("counter", 50052), ("syncer", 50053)):
        c = pod_spec(one(objs, "Deployment", f"-{svc}"))["containers"][0]
        assert c["command"] == ["python", "-m", svc]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["grpc"] == {"port": port}
        env = env_of(c)
        assert env["GRPC_PORT"] == str(port)
    gw = pod_spec(one(objs, "Deployment", "-gateway"))["containers"][0]
    assert gw["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gw["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_service_wiring(render):
    objs = render({})
    gw = env_of(pod_spec(one(objs, "Deployment", "-gateway"))["containers"][0])
    prefix = one(objs, "Service", "-messenger")["metadata"]["name"].rsplit("-", 1)[0]
    assert gw["MESSENGER_ADDR"] == f"{prefix}-messenger:50051"
    assert gw["COUNTER_ADDR"] == f"{prefix}-counter:50052"
    assert gw["SYNCER_ADDR"] == f"{prefix}-syncer:50053"
    assert gw["GATEWAY_PORT"] == "10000"
    assert gw["JWT_SECRET"]["secretKeyRef"] == {"name": f"{prefix}-jwt", "key": "jwt-secret"}
    for name in ("gateway", "messenger", "counter", "syncer"):
        env = env_of(pod_spec(one(objs, "Deployment", f"-{name}"))["containers"][0])
        assert env["DATABASE_URL"]["secretKeyRef"] == {"name": f"{prefix}-postgresql", "key": "database-url"}
        assert env["REDIS_URL"]["secretKeyRef"] == {"name": f"{prefix}-redis", "key": "redis-url"}
        assert env["LOG_FORMAT"] == "json" and env["LOG_LEVEL"] == "INFO"
    syncer = env_of(pod_spec(one(objs, "Deployment", "-syncer"))["containers"][0])
    assert syncer["MESSENGER_ADDR"] and syncer["COUNTER_ADDR"]


def test_generated_secrets_are_consistent(render):
    import base64
    objs = render({})
    pg = one(objs, "Secret", "-postgresql")["data"]
    password = base64.b64decode(pg["password"]).decode()
    url = base64.b64decode(pg["database-url"]).decode()
    assert len(password) == 32 and url.startswith(f"postgresql://unread:{password}@") and url.endswith(":5432/unread")
    redis = one(objs, "Secret", "-redis")["data"]
    assert base64.b64decode(redis["redis-url"]).decode().startswith(
        f"redis://:{base64.b64decode(redis['password']).decode()}@")
    assert len(base64.b64decode(one(objs, "Secret", "-jwt")["data"]["jwt-secret"])) == 64


def test_external_stores_use_the_given_secrets_and_run_no_servers(render):
    objs = render(EXTERNAL)
    assert by_kind(objs, "StatefulSet") == {}
    assert sorted(by_kind(objs, "Secret")) == [f"{RELEASE}-unread-counters-jwt"]
    env = env_of(pod_spec(one(objs, "Deployment", "-counter"))["containers"][0])
    assert env["DATABASE_URL"]["secretKeyRef"] == {"name": "prod-db", "key": "dsn"}
    assert env["REDIS_URL"]["secretKeyRef"] == {"name": "prod-redis", "key": "url"}
    job = yaml.safe_load(one(objs, "ConfigMap", "-operator")["data"]["job-template.yaml"])
    assert {e["name"]: e.get("valueFrom") for e in job["env"]}["DATABASE_URL"]["secretKeyRef"]["name"] == "prod-db"


def test_external_stores_without_a_secret_fail_clearly(chart, helm):
    with pytest.raises(helm.HelmError, match="externalDatabase.existingSecret"):
        chart.render({"postgresql": {"enabled": False}}, name=RELEASE, namespace=NAMESPACE, is_install=True)


def test_migrations_hook_runs_before_the_new_version(render):
    bundled = one(render({}), "Job", "-migrate-1")
    external = one(render(EXTERNAL), "Job", "-migrate-1")
    # The bundled Postgres is part of the release, so the first install can only migrate after it.
    assert bundled["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert external["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    c = pod_spec(external)["containers"][0]
    assert c["command"] == ["python", "-m", "common.migrate"]
    assert env_of(c)["MIGRATIONS_DIR"] == "/app/migrations"
    assert one(render({}, is_upgrade=True), "Job", "-migrate-2")


def test_hpa_replaces_fixed_replicas(render):
    objs = render(VARIANTS["hpa"])
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    assert len(hpas) == 4
    for hpa in hpas.values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert "replicas" not in by_kind(objs, "Deployment")[target]["spec"]
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert "replicas" in one(objs, "Deployment", "-operator")["spec"]  # never autoscaled
    assert by_kind(render({}), "HorizontalPodAutoscaler") == {}


def test_pdbs_guard_the_services(render):
    pdbs = by_kind(render({}), "PodDisruptionBudget")
    assert sorted(n.rsplit("-", 1)[-1] for n in pdbs) == ["counter", "gateway", "messenger", "syncer"]
    assert all(p["spec"]["maxUnavailable"] == 1 for p in pdbs.values())
    assert by_kind(render(VARIANTS["no-pdb-no-persistence"]), "PodDisruptionBudget") == {}


def test_operator_off_leaves_no_operator_objects(render):
    objs = render(VARIANTS["operator-off"])
    assert not [o for o in objs if o["metadata"]["labels"].get("app.kubernetes.io/component") in ("operator", "reconcile")]
    assert not [o for o in objs if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")]


def test_operator_runs_alone_with_minimal_namespaced_rbac(render):
    objs = render({})
    dep = one(objs, "Deployment", "-operator")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    c = pod_spec(dep)["containers"][0]
    assert c["command"] == ["python", "-m", "countersync"]
    assert f"--namespace={NAMESPACE}" in c["args"] and "--liveness=http://0.0.0.0:8080/healthz" in c["args"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    env = env_of(c)
    assert env["COUNTERSYNC_BACKLOG_URL"].endswith("-syncer:9103/backlog")
    assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = one(objs, "Role", "-operator")
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {
        ("unread.example.com", "countersyncs"): {"get", "list", "watch", "patch", "update"},
        ("unread.example.com", "countersyncs/status"): {"get", "patch", "update"},
        ("batch", "jobs"): {"get", "list", "watch", "create", "delete"},
        ("", "pods"): {"get", "list"},
        ("", "events"): {"create"},
    }
    binding = one(objs, "RoleBinding", "-operator")
    assert binding["subjects"][0]["name"] == pod_spec(dep)["serviceAccountName"]


def test_operator_can_watch_more_namespaces_or_all(render):
    objs = render(VARIANTS["operator-more-namespaces"])
    for kind in ("Role", "RoleBinding"):
        assert sorted(o["metadata"]["namespace"] for o in objs if o["kind"] == kind) == ["team-b", "unread"]
    objs = render(VARIANTS["operator-cluster-wide"])
    assert by_kind(objs, "Role") == {} and len(by_kind(objs, "ClusterRole")) == 1
    assert "--all-namespaces" in pod_spec(one(objs, "Deployment", "-operator"))["containers"][0]["args"]


def test_job_template_for_reconcile_pods(render):
    objs = render(VARIANTS["own-jwt-and-registry"])
    tpl = yaml.safe_load(one(objs, "ConfigMap", "-operator")["data"]["job-template.yaml"])
    assert tpl["image"] == "ghcr.io/acme/unread-counters/syncer:1.2.3"
    assert tpl["serviceAccountName"].endswith("-reconcile")
    assert tpl["imagePullSecrets"] == [{"name": "ghcr"}]
    assert tpl["podSecurityContext"]["runAsNonRoot"] is True
    assert {e["name"] for e in tpl["env"]} >= {"DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT"}
    # The operator's own job builder accepts it and produces a valid Job.
    from countersync import jobspec, spec as spec_module
    import datetime
    parsed = spec_module.parse({"schedule": "0 * * * *", "job": {"shards": 2}}, name="nightly")
    slot = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    job = jobspec.build_job(countersync="nightly", namespace=NAMESPACE, spec=parsed.spec, name="nightly-1",
                            trigger="schedule", scheduled_at=slot, created_at=slot, parallelism=2,
                            parallelism_reason="Backlog", template=tpl)
    kubernetes_validate.validate(job, "1.32", strict=True)
    assert pod_spec(job)["imagePullSecrets"] == [{"name": "ghcr"}]


def test_image_references(render):
    objs = render(VARIANTS["skaffold-images"])
    for svc in ("gateway", "messenger", "counter", "syncer", "operator"):
        image = pod_spec(one(objs, "Deployment", f"-{svc}"))["containers"][0]["image"]
        assert image.startswith(f"localhost:5000/uc-{svc}:abc@sha256:")
    tpl = yaml.safe_load(one(objs, "ConfigMap", "-operator")["data"]["job-template.yaml"])
    assert tpl["image"].startswith("localhost:5000/uc-syncer:")
    default = pod_spec(one(render({}), "Deployment", "-gateway"))["containers"][0]["image"]
    assert default == "unread-counters/gateway:0.1.0"


def test_lookup_keeps_secrets_on_upgrade_in_the_template_source():
    # Offline rendering cannot run `lookup`; make sure every generated secret goes through it.
    source = (CHART / "templates" / "secrets.yaml").read_text()
    assert source.count('include "uc.keptRandom"') == 3
    assert "lookup" in (CHART / "templates" / "_helpers.tpl").read_text()
