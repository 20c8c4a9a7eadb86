"""A worker process killed with SIGKILL mid-task: the scan is delivered again and completes."""

import os
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upload(user):
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg((1600, 1600))))
    return scan


def kill_child_while_analysing(worker, scan_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Scan.objects.filter(id=scan_id, status=Scan.Status.ANALYSING).exists():
            for pid in worker.child_pids():
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.005)
    raise AssertionError("the scan never reached 'analysing'")


def test_killed_mid_task_is_redelivered_and_completes(user, live_worker):
    scan = upload(user)
    kill_child_while_analysing(live_worker, scan.id)
    try:
        scan = wait_for_status(scan.id, {"done", "failed"}, timeout=60)
    finally:
        print(live_worker.log()[-5000:])
    assert scan.status == "done", scan.error
    assert scan.attempts == 2  # the killed attempt was counted, then the redelivery finished it
    assert "WorkerLostError" in live_worker.log() or "SIGKILL" in live_worker.log()


def test_poison_message_stops_after_max_attempts(user, live_worker, settings):
    scan = upload(user)
    Scan.objects.filter(id=scan.id).update(attempts=settings.SCAN_MAX_ATTEMPTS - 1)
    kill_child_while_analysing(live_worker, scan.id)  # the last allowed attempt crashes too
    scan = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
    assert scan.status == "failed"
    assert "crashed the analysis worker repeatedly" in scan.error
    # The worker is still alive and serves the next scan.
    assert wait_for_status(upload(user).id, {"done"}, timeout=120).status == "done"
