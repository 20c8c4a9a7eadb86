"""The out-of-the-box setup: SQLite and the embedded filesystem broker, with a real worker process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import stop_process_group, wait_for_worker_ready

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

UPLOAD_AND_WAIT = """
import time
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.models import User
from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg
user = User.objects.create_user(email="embedded@example.com", password="embedded-pass-123")
scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
deadline = time.monotonic() + 120
while Scan.objects.get(id=scan.id).status not in ("done", "failed") and time.monotonic() < deadline:
    time.sleep(0.2)
scan.refresh_from_db()
print("RESULT", scan.status, scan.label, scan.model_version.name if scan.model_version else None)
"""


def test_upload_is_analysed_with_sqlite_and_the_filesystem_broker(tmp_path, tiny_artifact_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="facediag_site.settings",
        DJANGO_SECRET_KEY="embedded-default-test-key",
        DJANGO_READ_DOT_ENV="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_FILESYSTEM_BROKER_DIR=str(tmp_path / "broker"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )

    def manage(*args):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    manage("register_model", str(tiny_artifact_dir), "--activate")
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "facediag_site", "worker", "--concurrency", "1",
                               "--loglevel", "INFO"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_worker_ready(worker, tmp_path / "worker.log", timeout=120)
        out = manage("shell", "-c", UPLOAD_AND_WAIT)
    finally:
        stop_process_group(worker)
        log.close()
    assert "RESULT done" in out and "tiny-vgg16-test" in out, out + (tmp_path / "worker.log").read_text()[-3000:]
