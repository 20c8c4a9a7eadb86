"""How long a scan waits after a broker outage or a killed worker, and how long its page says "paused".

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/facediag python bench/recovery.py [--scenario both]

Real processes: its own redis-server (stopped and started again on the same port, empty, as docker-compose's
Redis without persistence comes back), a Celery worker with beat on a throwaway PostgreSQL database
(`<name>_bench_recovery`), the shipped model. Settings are the defaults of the checkout it runs in.

- outage: Redis stops, a photo is uploaded (stored, queued), Redis starts again. Measured from the restart:
  until the scan page stops saying "paused" (this process asks as the web does, its 5 s cache included) and
  until the scan is done.
- killed: a scan is being analysed when its worker (main process and children, as a container kill) is
  killed with SIGKILL and a new worker is started at once. Measured from the kill: until the scan is done
  (the new worker's start, model included, is printed too; the page is first looked at once that worker is
  up, so its paused_s is only that moment).
Prints the CPU, then `RECOVERY <scenario> paused_s=<n> done_s=<n>`.
"""

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["outage", "killed", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="facediag-bench-recovery-")
    from tests.faults.infra import RedisServer

    redis_server = RedisServer().start()
    os.environ.update(DJANGO_SETTINGS_MODULE="facediag_site.test_settings", DJANGO_READ_DOT_ENV="false",
                      REDIS_URL=redis_server.url, DJANGO_MEDIA_ROOT=f"{tmp}/media", THROTTLE_UPLOADS="1000/hour")
    assert os.environ.get("DATABASE_URL", "").startswith("postgres"), "set DATABASE_URL to a PostgreSQL server"
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_bench_recovery"
    old_name = connection.creation.create_test_db(verbosity=0)
    from accounts.models import User
    from diagnosis import selectors, services
    from diagnosis.models import Scan
    from ml.core.artifact import SHIPPED_MODEL_DIR
    from ml.services import register_model
    from tests.support import face_like_jpeg
    from tests.worker import WorkerProcess

    print(machine_state())
    print(f"settings: SCAN_STUCK_AFTER_SECONDS={settings.SCAN_STUCK_AFTER_SECONDS} "
          f"sweep every {settings.CELERY_BEAT_SCHEDULE['requeue-stuck-scans']['schedule']} s, "
          f"visibility timeout {settings.CELERY_BROKER_TRANSPORT_OPTIONS.get('visibility_timeout')} s")
    register_model(SHIPPED_MODEL_DIR, activate=True)
    owner = User.objects.create_user(email="bench@example.com", password="bench passphrase 1")
    workers = []

    def start_worker(name):
        worker = WorkerProcess(Path(tmp) / f"{name}.log", beat=True, REDIS_URL=redis_server.url)
        workers.append(worker)
        started = time.monotonic()
        worker.wait_ready(timeout=300)
        return worker, time.monotonic() - started

    def upload(size=(1600, 1600)):
        scan, _ = services.create_scan(owner=owner, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg(size)))
        return scan

    def watch(scan_id, since):
        paused_until, deadline = None, since + args.timeout
        while time.monotonic() < deadline:
            scan = Scan.objects.get(id=scan_id)
            state = selectors.analysis_state(scan)
            if paused_until is None and (state is None or state["state"] != "paused"):
                paused_until = time.monotonic() - since
            if scan.status in (Scan.Status.DONE, Scan.Status.FAILED):
                return paused_until, time.monotonic() - since, scan.status
            time.sleep(0.5)
        return paused_until, None, Scan.objects.get(id=scan_id).status

    try:
        worker, ready_s = start_worker("worker-1")
        print(f"worker ready in {ready_s:.1f} s")
        warm = upload((400, 400))
        paused, done, status = watch(warm.id, time.monotonic())
        print(f"warm-up scan {status} in {done:.1f} s")
        if args.scenario in ("outage", "both"):
            redis_server.stop()
            scan = upload()
            time.sleep(5)
            print(f"outage: scan {Scan.objects.get(id=scan.id).status} during the outage, "
                  f"page says {selectors.analysis_state(scan)['state']!r}")
            redis_server.start()
            paused, done, status = watch(scan.id, time.monotonic())
            print(f"RECOVERY outage paused_s={paused and round(paused, 1)} done_s={done and round(done, 1)} "
                  f"({status})")
        if args.scenario in ("killed", "both"):
            scan = upload()
            deadline = time.monotonic() + 120
            while not Scan.objects.filter(id=scan.id, status=Scan.Status.ANALYSING).exists():
                assert time.monotonic() < deadline, "the scan never reached analysing"
                time.sleep(0.005)
            os.killpg(worker.proc.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            worker.proc.wait()
            worker, ready_s = start_worker("worker-2")
            print(f"killed: a new worker was ready {ready_s:.1f} s after the kill")
            paused, done, status = watch(scan.id, killed_at)
            print(f"RECOVERY killed paused_s={paused and round(paused, 1)} done_s={done and round(done, 1)} ({status})")
    finally:
        for worker in workers:
            worker.stop()
        redis_server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
