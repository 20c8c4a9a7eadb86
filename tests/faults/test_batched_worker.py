"""A real worker batches queued scans, and keeps acks-late, crash redelivery and poison handling per scan."""

import os
import re
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg, wait_for_status
from tests.worker import WorkerProcess, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH = 4


def queue_scans(user, n, size=(400, 400)):
    return [
        services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg(size, seed=i)))[0]
        for i in range(n)
    ]


def batch_sizes(log):
    return [int(n) for n in re.findall(r"analysed (\d+) scan\(s\) in one batch", log)]


@pytest.fixture
def batch_worker(transactional_db, active_model, tmp_path):
    """A worker that flushes exactly when BATCH messages are buffered (the timer is far away)."""
    flush_broker()
    workers = []

    def start(wait_seconds=30, **env):
        worker = WorkerProcess(tmp_path / f"worker{len(workers)}.log", SCAN_BATCH_SIZE=BATCH,
                               SCAN_BATCH_WAIT_SECONDS=wait_seconds, **env)
        workers.append(worker)
        return worker.wait_ready()

    yield start
    for worker in workers:
        worker.discard()


def test_queued_scans_are_analysed_in_one_batch(user, batch_worker):
    scans = queue_scans(user, BATCH)
    worker = batch_worker()
    for scan in scans:
        done = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
        assert done.status == "done" and done.attempts == 1, done.error
    assert batch_sizes(worker.log()) == [BATCH]


def test_a_batch_whose_process_dies_is_requeued_and_each_scan_then_runs_alone(user, batch_worker, settings):
    scans = queue_scans(user, BATCH, size=(1600, 1600))  # big photos: the batch takes a while
    poison = scans[0]  # its last allowed attempt is the one that crashes
    Scan.objects.filter(id=poison.id).update(attempts=settings.SCAN_MAX_ATTEMPTS - 1)
    worker = batch_worker()
    deadline = time.monotonic() + 90
    while Scan.objects.filter(status=Scan.Status.ANALYSING).count() < BATCH:
        assert time.monotonic() < deadline, worker.log()[-3000:]
        time.sleep(0.005)
    for pid in worker.child_pids():
        os.kill(pid, signal.SIGKILL)

    finished = {s.id: wait_for_status(s.id, {"done", "failed"}, timeout=120) for s in scans}

    log = worker.log()
    assert "lost its process" in log and "requeued" in log
    assert finished[poison.id].status == "failed" and "repeatedly" in finished[poison.id].error
    for scan in scans[1:]:  # innocent scans of the crashed batch: counted once, then done alone
        assert (finished[scan.id].status, finished[scan.id].attempts) == ("done", 2), finished[scan.id].error
    assert batch_sizes(log) == [1] * (BATCH - 1)  # the crashed batch never logged; redeliveries ran alone


def test_a_transient_error_in_a_batch_is_retried_for_that_scan_only(user, batch_worker):
    scans = queue_scans(user, BATCH)
    flaky = scans[1]
    os.remove(flaky.first_photo.image.path)
    os.mkdir(flaky.first_photo.image.path)  # reading it raises IsADirectoryError (an OSError, like a flaky disk)
    # Retries come back one by one: do not wait for a full batch, nor for the default back-off (1 + 2 + 4 s).
    worker = batch_worker(wait_seconds=0.2, SCAN_RETRY_BACKOFF_SECONDS=0.1)

    flaky_done = wait_for_status(flaky.id, {"done", "failed"}, timeout=120)

    assert flaky_done.status == "failed" and "temporary problem" in flaky_done.error
    assert flaky_done.attempts == 0  # clean releases are not crashes
    assert worker.log().count(f"scan {flaky.id}: transient error, retry") == 3
    for scan in scans[:1] + scans[2:]:
        assert wait_for_status(scan.id, {"done", "failed"}, timeout=60).status == "done"


def test_a_database_blip_in_the_worker_is_retried_and_the_scan_completes(user, active_model, tmp_path, settings):
    from tests.faults.infra import TcpProxy

    flush_broker()
    db = settings.DATABASES["default"]
    proxy = TcpProxy(int(db["PORT"] or 5432)).start()
    proxies = [proxy]
    worker = WorkerProcess(tmp_path / "worker.log", SCAN_BATCH_WAIT_SECONDS=0.2,
                           DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 90
        while "loaded model version" not in worker.log():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.2)
        proxy.stop()  # the worker loses PostgreSQL; this process still reaches it directly
        (scan,) = queue_scans(user, 1)
        while f"scan {scan.id}: transient error, retry 1" not in worker.log():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.05)
        proxies.append(TcpProxy(proxy.target_port, port=proxy.port).start())  # back before the retries run out
        done = wait_for_status(scan.id, {"done", "failed"}, timeout=60)
    finally:
        worker.discard()
        for each in proxies:
            each.stop()
    assert done.status == "done" and done.attempts == 1, done.error
