"""A clone of the repository with nothing beside it runs the product's real path with the shipped model.

Clone -> migrate -> register the shipped model -> the run command's worker on the embedded default (SQLite,
the embedded Redis) -> an upload through the REST API -> `done` with a real label. No `../shared`, no
FACEDIAG_VGG16_WEIGHTS: the model and its ImageNet base come from git alone.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ml.core.artifact import SHIPPED_MODEL_DIR
from tests.support import stop_process_group, wait_for_worker_ready

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

UPLOAD_THROUGH_THE_API = """
import io, json, time
from PIL import Image
from django.test import Client
c = Client(HTTP_HOST="localhost")
creds = {"email": "newcomer@example.com", "password": "a long and private passphrase"}
assert c.post("/api/v1/auth/register/", creds, content_type="application/json").status_code == 201
from django.contrib.auth import get_user_model
from accounts.services import confirmation_link_path
link = confirmation_link_path(get_user_model().objects.get(email=creds["email"]))  # the e-mail's link
assert c.post(link, {"action": "password", "password": creds["password"]}).status_code == 302
access = c.post("/api/v1/auth/token/", creds, content_type="application/json").json()["access"]
auth = {"HTTP_AUTHORIZATION": "Bearer " + access}
# the sample, cropped so her face fills the photo: the whole 400 px portrait is too small to judge (issue 29)
face = io.BytesIO()
Image.open("ml/samples/astronaut_face.jpg").convert("RGB").crop((98, 4, 254, 199)).resize((480, 600)).save(face, "JPEG")
face.name = "face.jpg"
face.seek(0)
accepted = c.post("/api/v1/scans/", {"image": face}, **auth)
assert accepted.status_code == 202, accepted.content
url = accepted.json()["url"].replace("http://localhost", "")
deadline = time.monotonic() + 180
while True:
    body = c.get(url, **auth).json()
    if body["status"] in ("done", "failed") or time.monotonic() > deadline:
        break
    time.sleep(0.5)
print("RESULT " + json.dumps(body))
"""


def test_a_clone_with_nothing_beside_it_analyses_an_api_upload_with_the_shipped_model(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    # the clone's parent holds nothing else: no ../shared. A short path, as a newcomer's would be: the embedded
    # Redis's Unix socket must fit in 107 characters (pytest-xdist's tmp_path alone comes close).
    alone = Path(tempfile.mkdtemp(prefix="fd-alone-", dir="/tmp"))
    clone = alone / "facediag"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300)
    assert not (clone.parent / "shared").exists() and os.listdir(alone) == ["facediag"]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_", "FACEDIAG_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="facediag_site.settings",
        DJANGO_SECRET_KEY="fresh-clone-test-key",
        DJANGO_READ_DOT_ENV="false",
        PYTHONPATH=str(clone),
    )

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    run_script = (clone / "scripts" / "_prepare.sh").read_text()  # run.sh has the supervisor run it
    assert f"register_model ml/artifacts/{SHIPPED_MODEL_DIR.name} --activate-if-none" in run_script  # a newcomer's
    assert ", active)" in manage("register_model", f"ml/artifacts/{SHIPPED_MODEL_DIR.name}", "--activate-if-none")
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        # what scripts/run.sh execs: the embedded Redis, a worker and beat under the supervisor (no web here)
        run = subprocess.Popen([sys.executable, "-m", "facediag_site.supervise", "--no-web"], cwd=clone, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_worker_ready(run, log_path)
            out = manage("shell", "-c", UPLOAD_THROUGH_THE_API)
        finally:
            stop_process_group(run, timeout=90)

    result = json.loads(out.split("RESULT ", 1)[1])
    worker_log = log_path.read_text(errors="replace")[-3000:]
    assert result["status"] == "done", (result, worker_log)
    assert result["label"] == "healthy" and result["model_version"] == SHIPPED_MODEL_DIR.name, result
    assert result["probabilities"]["healthy"] > 0.5 and result["disclaimer"]
    shutil.rmtree(alone, ignore_errors=True)
