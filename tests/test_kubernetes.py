"""The Kubernetes manifests under k8s/, validated offline: every object against the Kubernetes API schemas
bundled with kubernetes-validate (strict: unknown fields fail), KEDA's ScaledObject against the fields of
its CRD, the overlays rendered with `kubectl kustomize` where kubectl is installed, and the rules of the
deployment (one beat, probes on /healthz/, requests and limits, disruption budgets, the queue KEDA reads)."""

import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from ml.core.artifact import SHIPPED_MODEL_DIR

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30"  # the oldest version the manifests must work on

# KEDA 2.x ScaledObject (keda.sh/v1alpha1): the fields these manifests use, as its CRD defines them
# (https://keda.sh/docs/2.16/reference/scaledobject-spec/). Unknown fields fail, like the strict schemas.
_INT = {"type": "integer", "minimum": 0}
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "kind": {"type": "string"},
                                   "apiVersion": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                },
                "minReplicaCount": _INT, "maxReplicaCount": _INT, "idleReplicaCount": _INT,
                "pollingInterval": _INT, "cooldownPeriod": _INT, "initialCooldownPeriod": _INT,
                "advanced": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "behavior": {"type": "object"}},
                        },
                    },
                },
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object", "required": ["type", "metadata"], "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"}, "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}
# The redis scaler's metadata keys (KEDA docs, "Redis Lists").
REDIS_LIST_KEYS = {"address", "addressFromEnv", "host", "hostFromEnv", "port", "portFromEnv", "listName",
                   "listLength", "activationListLength", "databaseIndex", "enableTLS", "unsafeSsl", "username",
                   "usernameFromEnv", "passwordFromEnv"}


def manifest_files():
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def objects(paths=None):
    found = []
    for path in paths or manifest_files():
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def by_kind(kind, name=None):
    return [doc for _p, doc in objects() if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]


def test_there_are_manifests_and_kustomizations_list_them_all():
    assert manifest_files()
    listed = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        config = yaml.safe_load(kustomization.read_text())
        for resource in config["resources"]:
            target = (kustomization.parent / resource).resolve()
            assert target.exists(), f"{kustomization}: {resource}"
            listed.add(target)
    assert {p.resolve() for p in manifest_files()} <= listed  # no forgotten file


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_object_validates_against_the_kubernetes_schemas(path):
    for _path, doc in objects([path]):
        if doc["apiVersion"].startswith("keda.sh/"):
            jsonschema.validate(doc, SCALED_OBJECT)
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc['kind']}/{doc['metadata'].get('name')}: {exc.message} at {list(exc.path)}")


def test_a_typo_is_caught():
    """The validation is strict: an unknown field in a container fails (so the test above can fail)."""
    deployment = by_kind("Deployment", "facediag-web")[0]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    scaled = yaml.safe_load(yaml.safe_dump(by_kind("ScaledObject")[0]))
    scaled["spec"]["maxReplicas"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, SCALED_OBJECT)


@pytest.mark.parametrize("overlay", ["base", "trial"])
def test_the_overlays_render_and_the_result_validates(overlay):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl not installed: the files were validated one by one above")
    result = subprocess.run([kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "facediag", doc["metadata"]
        if doc["apiVersion"].startswith("keda.sh/"):
            jsonschema.validate(doc, SCALED_OBJECT)
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    assert {("Deployment", "facediag-web"), ("Deployment", "facediag-worker"), ("Deployment", "facediag-beat"),
            ("Job", "facediag-migrate"), ("ScaledObject", "facediag-worker")} <= kinds
    if overlay == "trial":
        assert {("Deployment", "redis"), ("StatefulSet", "postgres"), ("StatefulSet", "minio"),
                ("Job", "minio-init")} <= kinds


def containers(deployment):
    return deployment["spec"]["template"]["spec"]["containers"]


def test_exactly_one_beat_that_never_overlaps_a_second():
    beats = [d for _p, d in objects() if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
             and any("beat" in (c.get("command") or []) + (c.get("args") or []) for c in containers(d)
                     if "template" in d["spec"])]
    assert [b["metadata"]["name"] for b in beats] == ["facediag-beat"]
    beat = beats[0]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert not by_kind("ScaledObject", "facediag-beat")
    workers = " ".join(containers(by_kind("Deployment", "facediag-worker")[0])[0]["args"])
    assert " worker " in workers and " -B" not in workers and "beat" not in workers


def test_web_probes_call_healthz_with_an_allowed_host():
    web = containers(by_kind("Deployment", "facediag-web")[0])[0]
    config = by_kind("ConfigMap", "facediag-config")[0]["data"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = web[probe]["httpGet"]
        assert http["path"].startswith("/healthz/")
        host = {h["name"]: h["value"] for h in http["httpHeaders"]}["Host"]
        assert host in config["DJANGO_ALLOWED_HOSTS"].split(",")
    # database, cache, broker, model: everything but the worker's heartbeat (web serves while workers restart)
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz/?ready=1"


def test_only_containers_that_mount_a_metrics_folder_name_one():
    """prometheus-client writes into PROMETHEUS_MULTIPROC_DIR at import: a container without the folder
    (the migration Job, beat) must not have the variable."""
    for _path, doc in objects():
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        if not spec:
            continue
        for container in spec["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "PROMETHEUS_MULTIPROC_DIR" in env:
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts, doc["metadata"]["name"]
            for source in container.get("envFrom", []):
                name = (source.get("configMapRef") or {}).get("name")
                if name:
                    assert "PROMETHEUS_MULTIPROC_DIR" not in by_kind("ConfigMap", name)[0]["data"]


def test_workers_have_a_liveness_probe_on_their_endpoint_and_serve_metrics():
    worker = containers(by_kind("Deployment", "facediag-worker")[0])[0]
    port = {e["name"]: e["value"] for e in worker["env"]}["WORKER_METRICS_PORT"]
    assert worker["ports"][0]["containerPort"] == int(port)
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "--concurrency 1" in worker["args"][0]  # one pool process per pod


def test_every_app_container_has_requests_and_limits():
    for _path, doc in objects():
        if "template" not in doc.get("spec", {}) and doc["kind"] != "StatefulSet":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), doc["metadata"]["name"]
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), doc["metadata"]["name"]


def test_disruption_budgets_cover_web_and_workers():
    deployments = {d["metadata"]["name"]: d for d in by_kind("Deployment")}
    covered = set()
    for pdb in by_kind("PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        matched = [n for n, d in deployments.items()
                   if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matched) == 1, pdb["metadata"]["name"]
        covered |= set(matched)
    assert {"facediag-web", "facediag-worker"} <= covered
    web_pdb = by_kind("PodDisruptionBudget", "facediag-web")[0]
    assert web_pdb["spec"]["minAvailable"] < deployments["facediag-web"]["spec"]["replicas"]  # drains can proceed


def test_keda_scales_the_workers_on_the_celery_queue():
    from django.conf import settings

    scaled = by_kind("ScaledObject", "facediag-worker")[0]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "facediag-worker"
    assert 1 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "redis" and set(trigger["metadata"]) <= REDIS_LIST_KEYS
    assert trigger["metadata"]["listName"] == getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    redis_url = by_kind("ConfigMap", "facediag-config")[0]["data"]["REDIS_URL"]
    assert redis_url == f"redis://{trigger['metadata']['address']}/{trigger['metadata']['databaseIndex']}"


def test_the_migration_job_registers_the_shipped_model_and_the_apps_wait_for_nothing_else():
    job = by_kind("Job", "facediag-migrate")[0]
    script = containers(job)[0]["args"][0]
    assert "migrate --noinput" in script
    assert f"register_model ml/artifacts/{SHIPPED_MODEL_DIR.name} --activate" in script
    for name in ("facediag-web", "facediag-worker", "facediag-beat"):
        assert "migrate" not in " ".join(containers(by_kind("Deployment", name)[0])[0].get("args") or [])


def test_config_names_only_settings_the_app_reads_and_no_secret():
    settings_source = "".join((ROOT / "facediag_site" / name).read_text() for name in ("settings.py",
                                                                                       "media_storage.py"))
    config = by_kind("ConfigMap", "facediag-config")[0]["data"]
    for key in config:
        assert f'"{key}"' in settings_source, key
        assert not any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL")), key


def test_only_the_ingress_controller_and_monitoring_reach_the_web():
    """Finding L7 (issue 30): with NUM_PROXIES=1 the web takes the last X-Forwarded-For hop as the client: a
    pod that could call the web Service directly would choose its own address for the per-IP limits."""
    config = by_kind("ConfigMap", "facediag-config")[0]["data"]
    assert config["NUM_PROXIES"] == "1"
    web = containers(by_kind("Deployment", "facediag-web")[0])
    policies = [p for p in by_kind("NetworkPolicy")
                if p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "web"]
    assert len(policies) == 1
    spec = policies[0]["spec"]
    assert spec["policyTypes"] == ["Ingress"] and spec["ingress"]
    port = web[0]["ports"][0]["containerPort"]
    for rule in spec["ingress"]:
        assert rule["from"], "an empty `from` lets every pod in"
        for peer in rule["from"]:
            assert set(peer) == {"namespaceSelector"} and peer["namespaceSelector"]["matchLabels"]
        assert [p["port"] for p in rule["ports"]] == [port]
    allowed = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in spec["ingress"] for peer in rule["from"]}
    assert allowed == {"ingress-nginx", "monitoring"}
    assert "facediag" not in allowed  # not the app's own namespace: its other pods have no business there
