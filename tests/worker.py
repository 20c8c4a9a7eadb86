"""Start and stop a real Celery worker process for tests (same code path as production)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**overrides):
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="facediag_site.test_settings",
        DATABASE_URL=(
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=settings.CELERY_BROKER_URL,
        # The worker's heartbeat lands in the test's cache even when a test gives the worker its own broker.
        REDIS_CACHE_URL=settings.CACHES["default"]["LOCATION"],
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def flush_broker(url=None):
    redis.Redis.from_url(url or settings.CELERY_BROKER_URL).flushdb()


class WorkerProcess:
    """A `celery worker` subprocess with its log kept in a file for assertions and debugging."""

    def __init__(self, log_path, concurrency=1, beat=False, **env):
        self.log_path = Path(log_path)
        assert connection.vendor == "postgresql", "worker tests need the PostgreSQL test database"
        args = [sys.executable, "-m", "celery", "-A", "facediag_site", "worker", "--loglevel", "INFO",
                "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            args += ["-B", "--schedule", str(self.log_path.with_suffix(".beat"))]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=worker_env(**env), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()[-4000:]}")

    def child_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def discard(self):
        """Ends the worker at once (SIGKILL to its whole group), for the end of a test whose checks are done: a
        graceful stop waits ~3 s for billiard's pool to wind down, and nothing after it looks at the worker."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def stop(self):
        """A graceful stop (SIGTERM to the group); a worker that has not ended within 20 s is discarded."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        self.discard()
