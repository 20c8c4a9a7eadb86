"""The out-of-the-box setup: SQLite and the embedded Redis, under the run command's supervisor, with real
worker, beat and Redis processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import stop_process_group

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

UPLOAD_AND_WAIT = """
import time
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.models import User
from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg
user, _ = User.objects.get_or_create(email="embedded@example.com")
scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
deadline = time.monotonic() + 120
while Scan.objects.get(id=scan.id).status not in ("done", "failed") and time.monotonic() < deadline:
    time.sleep(0.2)
scan.refresh_from_db()
print("RESULT", scan.status, scan.label, scan.model_version.name if scan.model_version else None)
"""


class RunCommand:
    """``python -m facediag_site.supervise`` (what scripts/run.sh execs) without the web part."""

    def __init__(self, tmp_path, tiny_artifact_dir, *supervise_args):
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CACHE_URL", "DATABASE_URL")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="facediag_site.settings",
            DJANGO_SECRET_KEY="embedded-default-test-key",
            DJANGO_READ_DOT_ENV="false",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            FACEDIAG_EMBEDDED_REDIS_DIR=str(tmp_path / "redis"),
            DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
            PYTHONUNBUFFERED="1",
        )
        self.manage("migrate", "--noinput")
        self.log_path = tmp_path / "run.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "facediag_site.supervise", "--no-web", *supervise_args],
                                     cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_for(lambda log: log.count(" ready.") >= 1 and "beat: Starting" in log)
        self.manage("register_model", str(tiny_artifact_dir), "--activate")

    def manage(self, *args):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        return done.stdout

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, timeout=120):
        deadline = time.monotonic() + timeout
        while not condition(self.log()):
            assert time.monotonic() < deadline, self.log()[-4000:]
            time.sleep(0.2)

    def part_pid(self, name):
        """The pid of a direct child of the supervisor running ``celery ... worker`` or ``celery ... beat``."""
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        for pid in map(int, children.split()):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if name.encode() in argv:
                return pid
        raise AssertionError(f"no {name} under the supervisor:\n{self.log()[-3000:]}")

    def upload_and_wait(self):
        return self.manage("shell", "-c", UPLOAD_AND_WAIT)

    def stop(self):
        if self.proc.poll() is None:
            stop_process_group(self.proc, timeout=90)
        self._log.close()


def test_the_run_command_analyses_uploads_on_its_embedded_redis_and_restarts_what_dies(tmp_path, tiny_artifact_dir):
    run = RunCommand(tmp_path, tiny_artifact_dir)
    try:
        out = run.upload_and_wait()
        assert "RESULT done" in out and "tiny-vgg16-test" in out, out + run.log()[-3000:]
        assert "redis+socket://" in run.log()  # the worker's broker is the embedded Redis, not files

        os.kill(run.part_pid("worker"), signal.SIGKILL)  # the outside test's worker died like this, for good
        run.wait_for(lambda log: "the worker exited (status -9); restarting it" in log)
        os.kill(run.part_pid("beat"), signal.SIGKILL)
        run.wait_for(lambda log: "the beat exited (status -9); restarting it" in log)
        run.wait_for(lambda log: log.count(" ready.") >= 2 and log.count("beat: Starting") >= 2)

        out = run.upload_and_wait()  # the restarted worker analyses new uploads
        assert "RESULT done" in out, out + run.log()[-3000:]
    finally:
        run.stop()
    assert run.proc.returncode == 0 and "supervisor: stopped" in run.log()
    assert not (tmp_path / "redis" / "redis.sock").exists()  # Redis stopped last, with the rest


def test_a_part_that_keeps_dying_stops_the_whole_product_loudly(tmp_path, tiny_artifact_dir):
    run = RunCommand(tmp_path, tiny_artifact_dir, "--restart-limit", "1", "--restart-window", "600")
    try:
        os.kill(run.part_pid("beat"), signal.SIGKILL)
        run.wait_for(lambda log: log.count("beat: Starting") >= 2)
        os.kill(run.part_pid("beat"), signal.SIGKILL)  # a second death within the window: past the limit
        run.proc.wait(timeout=120)
    finally:
        run.stop()
    assert run.proc.returncode == 1
    assert "FaceDiag STOPPED: the beat exited 2 times within 600 s" in run.log()
    assert "Warm shutdown" in run.log()  # the worker was stopped, not left running without its sweeper
    assert not (tmp_path / "redis" / "redis.sock").exists()


def test_the_run_commands_parts_link_e_mails_to_where_it_serves(monkeypatch):
    """Reminder e-mails are sent by the worker, outside any request: their links use FACEDIAG_SITE_URL, which
    the run command sets to its own host and port unless the operator did (issue 32, point 8)."""
    from facediag_site.supervise import Supervisor, parse_args

    monkeypatch.delenv("FACEDIAG_SITE_URL", raising=False)
    assert Supervisor(parse_args(["--port", "9123"])).base_env()["FACEDIAG_SITE_URL"] == "http://localhost:9123"
    served = parse_args(["--host", "skin.lan", "--port", "8443"])
    assert Supervisor(served).base_env()["FACEDIAG_SITE_URL"] == "http://skin.lan:8443"
    monkeypatch.setenv("FACEDIAG_SITE_URL", "https://skin.example")
    assert Supervisor(parse_args(["--port", "9123"])).base_env()["FACEDIAG_SITE_URL"] == "https://skin.example"
