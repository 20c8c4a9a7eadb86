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


def keda_object(kind, spec):
    """The schema of a KEDA (keda.sh/v1alpha1) object of ``kind`` whose ``spec`` follows ``spec``."""
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": kind},
            "metadata": {"type": "object", "required": ["name"]},
            "spec": spec,
        },
    }


SCALED_OBJECT = keda_object("ScaledObject", {
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
})
# KEDA TriggerAuthentication: secrets mapped onto a scaler's parameters.
TRIGGER_AUTHENTICATION = keda_object("TriggerAuthentication", {
    "type": "object", "additionalProperties": False, "required": ["secretTargetRef"],
    "properties": {
        "secretTargetRef": {
            "type": "array", "minItems": 1,
            "items": {"type": "object", "required": ["parameter", "name", "key"], "additionalProperties": False,
                      "properties": {"parameter": {"type": "string"}, "name": {"type": "string"},
                                     "key": {"type": "string"}}},
        },
    },
})
KEDA_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}
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
            jsonschema.validate(doc, KEDA_SCHEMAS[doc["kind"]])
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
            jsonschema.validate(doc, KEDA_SCHEMAS[doc["kind"]])
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    assert {("Deployment", "facediag-web"), ("Deployment", "facediag-worker"), ("Deployment", "facediag-beat"),
            ("Job", "facediag-migrate"), ("ScaledObject", "facediag-worker"),
            ("HorizontalPodAutoscaler", "facediag-web"), ("TriggerAuthentication", "facediag-redis")} <= kinds
    # Issue 31: the image is a named build, never :latest (kustomize's images: sets it everywhere).
    for doc in rendered:
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        for container in (spec or {}).get("containers", []):
            name, _, tag = container["image"].rpartition(":")
            assert name and tag and tag != "latest" and "/" not in tag, container["image"]
            if container["name"] in ("web", "worker", "beat", "migrate"):
                assert container["image"] == "registry.example.org/facediag:1.4.0"
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
    port = {e["name"]: e.get("value") for e in worker["env"]}["WORKER_METRICS_PORT"]
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
    hpa = by_kind("HorizontalPodAutoscaler", "facediag-web")[0]["spec"]
    assert web_pdb["spec"]["minAvailable"] < hpa["minReplicas"]  # drains can proceed


def test_keda_scales_the_workers_on_the_celery_queue():
    from django.conf import settings

    scaled = by_kind("ScaledObject", "facediag-worker")[0]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "facediag-worker"
    assert 1 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "redis" and set(trigger["metadata"]) <= REDIS_LIST_KEYS
    assert trigger["metadata"]["listName"] == getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")


def test_keda_reads_redis_s_address_and_password_from_a_secret():
    """Issue 31: the address was written in the ScaledObject and Redis had no password."""
    (trigger,) = by_kind("ScaledObject", "facediag-worker")[0]["spec"]["triggers"]
    assert not {"address", "host", "port", "password"} & set(trigger["metadata"])
    auth = by_kind("TriggerAuthentication", trigger["authenticationRef"]["name"])[0]["spec"]
    refs = {ref["parameter"]: (ref["name"], ref["key"]) for ref in auth["secretTargetRef"]}
    assert refs == {"address": ("facediag-redis", "address"), "password": ("facediag-redis", "password")}
    # The apps read REDIS_URL (with the password) from the same Secret, never from the ConfigMap.
    assert "REDIS_URL" not in by_kind("ConfigMap", "facediag-config")[0]["data"]
    for name in ("facediag-web", "facediag-worker", "facediag-beat"):
        env = {e["name"]: e for e in containers(by_kind("Deployment", name)[0])[0]["env"]}
        assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "facediag-redis", "key": "REDIS_URL"}
    # The trial's Redis asks for that password.
    redis = containers(by_kind("Deployment", "redis")[0])[0]
    assert "--requirepass" in redis["args"]
    assert {e["name"]: e for e in redis["env"]}["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "facediag-redis", "key": "password"}


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
                if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "web"]
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


# --- issue 31, point 7 ------------------------------------------------------------------------------------------

APP_DEPLOYMENTS = ("facediag-web", "facediag-worker", "facediag-beat")


def pod_specs():
    for _path, doc in objects():
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        if spec:
            yield doc, spec


def memory_bytes(quantity):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return int(quantity[: -len(unit)]) * factor
    return int(quantity)


def test_app_containers_have_a_read_only_root_and_writable_tmp_and_metrics_folders():
    for doc, spec in pod_specs():
        if doc["metadata"]["name"] not in (*APP_DEPLOYMENTS, "facediag-migrate"):
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, doc["metadata"]["name"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], doc["metadata"]["name"]  # uploads, beat's schedule
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "PROMETHEUS_MULTIPROC_DIR" in env:
                assert "emptyDir" in volumes[mounts[env["PROMETHEUS_MULTIPROC_DIR"]]]
        assert spec["automountServiceAccountToken"] is False


def test_the_worker_has_room_for_a_shadow_model():
    """Issue 31: one model peaked at 711 MB; a shadow version is a second one in the same process."""
    resources = containers(by_kind("Deployment", "facediag-worker")[0])[0]["resources"]
    assert memory_bytes(resources["limits"]["memory"]) >= 2 * 2**30
    assert 1 * 2**30 <= memory_bytes(resources["requests"]["memory"]) <= memory_bytes(resources["limits"]["memory"])


def test_the_web_scales_on_cpu_and_its_deployment_leaves_the_count_to_the_autoscaler():
    hpa = by_kind("HorizontalPodAutoscaler", "facediag-web")[0]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "facediag-web"}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in by_kind("Deployment", "facediag-web")[0]["spec"]  # an apply would reset the count
    web = containers(by_kind("Deployment", "facediag-web")[0])[0]
    assert web["resources"]["requests"]["cpu"]  # utilisation is measured against the request


@pytest.mark.parametrize("name", ["facediag-web", "facediag-worker"])
def test_pods_spread_over_nodes_and_zones(name):
    deployment = by_kind("Deployment", name)[0]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == labels
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"  # a one-node trial still schedules


def test_beat_has_a_liveness_probe_on_the_file_its_scheduler_touches(tmp_path):
    from django.conf import settings

    beat = containers(by_kind("Deployment", "facediag-beat")[0])[0]
    env = {e["name"]: e.get("value") for e in beat["env"]}
    alive = env["BEAT_LIVENESS_FILE"]
    assert alive.startswith("/tmp/")  # the emptyDir: the root is read-only
    assert settings.CELERY_BEAT_SCHEDULER == "facediag_site.beat:LivenessScheduler"
    assert settings.CELERY_BEAT_MAX_LOOP_INTERVAL * 3 <= 180  # at least three ticks inside the probe's window
    command = beat["livenessProbe"]["exec"]["command"]
    assert alive in command[-1] and "-mmin -3" in command[-1]
    # The probe's own command, on a file just touched, one four minutes old, and none.
    probe = [*command[:-1], command[-1].replace(alive, str(tmp_path / "alive"))]
    assert subprocess.run(probe).returncode != 0  # no file yet
    (tmp_path / "alive").touch()
    assert subprocess.run(probe).returncode == 0
    import os
    import time

    old = time.time() - 240
    os.utime(tmp_path / "alive", (old, old))
    assert subprocess.run(probe).returncode != 0


def test_the_beat_scheduler_touches_its_liveness_file_at_every_tick(tmp_path, monkeypatch):
    from celery import current_app

    from facediag_site.beat import LivenessScheduler

    alive = tmp_path / "alive"
    monkeypatch.setenv("BEAT_LIVENESS_FILE", str(alive))
    scheduler = LivenessScheduler(app=current_app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    scheduler.setup_schedule()
    try:
        scheduler.schedule.clear()  # nothing due: a tick publishes nothing
        assert scheduler.tick() > 0 and alive.exists()
    finally:
        scheduler.close()


#: Which Secrets each pod may read (issue 31: one facediag-secrets gave MinIO's root password and the database
#: password to every pod).
SECRETS_OF = {
    "facediag-web": {"facediag-django", "facediag-database", "facediag-redis", "facediag-s3", "facediag-metrics",
                     "facediag-sentry"},
    "facediag-worker": {"facediag-django", "facediag-database", "facediag-redis", "facediag-email", "facediag-s3",
                        "facediag-metrics", "facediag-sentry"},
    "facediag-beat": {"facediag-redis", "facediag-sentry"},
    "facediag-migrate": {"facediag-django", "facediag-database", "facediag-redis", "facediag-sentry"},
    "redis": {"facediag-redis"},
    "postgres": {"facediag-postgres"},
    "minio": {"facediag-minio-root"},
    "minio-init": {"facediag-minio-root", "facediag-s3"},
}


def secrets_read(spec):
    names = set()
    for container in spec["containers"]:
        names |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
        names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                  if "secretKeyRef" in e.get("valueFrom", {})}
    names |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    return names


def test_each_pod_reads_only_the_secrets_it_needs():
    seen = set()
    for doc, spec in pod_specs():
        name = doc["metadata"]["name"]
        assert secrets_read(spec) == SECRETS_OF[name], name
        seen.add(name)
    assert seen == set(SECRETS_OF)
    # The stores' root passwords reach the stores only.
    for doc, spec in pod_specs():
        if doc["metadata"]["name"] not in ("minio", "minio-init"):
            assert "facediag-minio-root" not in secrets_read(spec)
        if doc["metadata"]["name"] != "postgres":
            assert "facediag-postgres" not in secrets_read(spec)


def test_pods_given_no_real_mail_or_database_get_values_that_can_reach_nothing():
    for name in ("facediag-web", "facediag-beat", "facediag-migrate"):
        doc = (by_kind("Deployment", name) or by_kind("Job", name))[0]
        env = {e["name"]: e.get("value") for e in containers(doc)[0]["env"]}
        assert env["EMAIL_URL"].startswith("smtp://") and ".invalid:" in env["EMAIL_URL"]  # RFC 6761: never resolves
    beat_env = {e["name"]: e.get("value") for e in containers(by_kind("Deployment", "facediag-beat")[0])[0]["env"]}
    assert beat_env["DATABASE_URL"] == "sqlite://:memory:"


def test_ingress_is_denied_by_default_and_each_store_lets_in_only_its_users():
    policies = {p["metadata"]["name"]: p["spec"] for p in by_kind("NetworkPolicy")}
    default = policies["default-deny-ingress"]
    assert default["podSelector"] == {} and default["policyTypes"] == ["Ingress"] and not default.get("ingress")
    for store, port in (("redis", 6379), ("postgres", 5432), ("minio", 9000)):
        spec = policies[store]
        assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": store}
        (rule,) = spec["ingress"]
        assert [p["port"] for p in rule["ports"]] == [port]
        assert rule["from"] and all(peer for peer in rule["from"])  # no empty peer (= everyone)
    minio_init = by_kind("Job", "minio-init")[0]["spec"]["template"]["metadata"]["labels"]
    assert {"app.kubernetes.io/name": "minio-init"} in [p.get("podSelector", {}).get("matchLabels")
                                                       for p in policies["minio"]["ingress"][0]["from"]]
    assert minio_init["app.kubernetes.io/name"] == "minio-init"
