"""docker-compose.yml must be accepted by the Compose client (there is no Docker engine here)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ml.core.artifact import SHIPPED_MODEL_DIR

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_SECRETS = {"DJANGO_SECRET_KEY": "compose-check", "FACEDIAG_S3_SECRET_ACCESS_KEY": "compose-check-s3",
                    "MINIO_ROOT_PASSWORD": "compose-check-minio", "EMAIL_URL": "smtp+tls://u:p@smtp.example.org:587"}


def compose_command():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("no Docker Compose client installed")


def compose_config(**env):
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True)
    return result


@pytest.fixture(scope="module")
def services():
    result = compose_config(**REQUIRED_SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_compose_file_is_valid_and_has_health_checks(services):
    assert {"web", "worker", "beat", "redis", "postgres", "minio", "minio-init"} <= set(services)
    assert {name for name, s in services.items() if "healthcheck" in s} == {"web", "worker", "beat", "redis",
                                                                            "postgres", "minio"}
    # beat's: the file its scheduler touches at every tick (the same probe as k8s/base/beat.yaml)
    assert services["beat"]["environment"]["BEAT_LIVENESS_FILE"] in " ".join(services["beat"]["healthcheck"]["test"])


def test_workers_scale_and_beat_runs_once_on_its_own(services):
    worker, beat = services["worker"], services["beat"]
    assert " worker " in worker["command"] and "-B" not in worker["command"].split()
    assert "beat" not in worker["command"]
    # Scalable with --scale worker=N: nothing that two containers could not share.
    assert "container_name" not in worker and "ports" not in worker
    # Exactly one beat: a fixed container name makes a second one fail to start.
    assert " beat " in f" {beat['command']} " and beat.get("container_name")
    assert sum(" beat " in f" {s.get('command') or ''} " for s in services.values()) == 1


def test_media_live_in_the_private_minio_bucket(services):
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["FACEDIAG_S3_BUCKET"] and env["FACEDIAG_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert "DJANGO_MEDIA_ROOT" not in env
        assert services[name]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
        assert not any(str(v).endswith(":/app/media") for v in services[name].get("volumes", []))
    assert "ports" not in services["minio"]  # reachable only on the compose network
    init = "\n".join(services["minio-init"]["command"])
    assert "mc anonymous set none" in init  # no anonymous access to the bucket


def test_secrets_are_required_not_defaulted():
    result = compose_config(DJANGO_SECRET_KEY="compose-check", FACEDIAG_S3_SECRET_ACCESS_KEY="",
                            MINIO_ROOT_PASSWORD="")
    assert result.returncode != 0
    assert "MINIO_ROOT_PASSWORD" in result.stderr or "FACEDIAG_S3_SECRET_ACCESS_KEY" in result.stderr


def test_compose_requires_an_email_url(tmp_path):
    env = {k: v for k, v in {**os.environ, **REQUIRED_SECRETS}.items() if k != "EMAIL_URL"}
    # an empty env file: the run command's own .env (it sets EMAIL_URL) must not stand in for the operator's
    no_dot_env = tmp_path / "empty.env"
    no_dot_env.write_text("")
    result = subprocess.run([*compose_command(), "--env-file", str(no_dot_env), "config"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "EMAIL_URL" in result.stderr


def test_web_health_check_fails_on_an_error_status_and_the_image_carries_the_model(services):
    probe = services["web"]["healthcheck"]["test"]
    assert "-f" in "".join(probe) and probe[-1].endswith("/healthz/?ready=1")  # curl -f: a 503 fails the check
    for name in ("web", "worker", "beat"):
        assert "FACEDIAG_VGG16_WEIGHTS" not in services[name]["environment"]  # the base is in the repository
    assert f"ml/artifacts/{SHIPPED_MODEL_DIR.name} " in services["web"]["command"]


def test_web_trusts_its_https_proxy_and_only_the_proxy_can_reach_it(services):
    """Finding L3 (round three): NUM_PROXIES defaulted to 0 behind the HTTPS proxy the stack is meant for, so
    every client had the proxy's address and the per-IP limits became site-wide. One proxy is trusted by
    default, and gunicorn is published on loopback only, so a client cannot bypass the proxy and pick its
    own address with X-Forwarded-For."""
    web = services["web"]
    assert web["environment"]["NUM_PROXIES"] == "1"
    assert web["environment"]["DJANGO_SECURE"] == "true"
    # Compose v2 prints the long form, v1 the short "host_ip:published:target/proto".
    published = [(p.get("host_ip"), str(p["target"])) if isinstance(p, dict) else tuple(p.split("/")[0].split(":")[::2])
                 for p in web["ports"]]
    assert published == [("127.0.0.1", "8000")]
