"""The same task delivered twice at the same time: exactly one result is written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnosis import services
from diagnosis.models import Scan
from diagnosis.tasks import analyse_scan
from tests.support import face_like_jpeg, media_files, wait_for_status
from tests.worker import WorkerProcess, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_duplicate_concurrent_delivery_writes_one_result(user, active_model, tmp_path, isolated_media):
    flush_broker()
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    worker = WorkerProcess(tmp_path / "worker.log", concurrency=2)
    try:
        worker.wait_ready()
        for _ in range(2):  # the very same message twice, e.g. a visibility-timeout redelivery
            analyse_scan.apply_async((str(scan.id),), task_id=f"dup-{scan.id}")
        done = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
        import time

        time.sleep(3)  # let the second delivery finish too
    finally:
        worker.discard()
    assert done.status == "done"
    final = Scan.objects.get(id=scan.id)
    heatmap = final.first_photo.heatmap
    expected_result = (done.label, done.completed_at, done.first_photo.heatmap.name)
    assert (final.label, final.completed_at, heatmap.name) == expected_result
    heatmaps = [p for p in media_files(isolated_media) if p.parent.name == "heatmaps"]
    expected = [heatmap.name.split("/")[-1]] if heatmap else []  # no map for uncertain / no skin
    assert [p.name for p in heatmaps] == expected  # no orphan from the loser
