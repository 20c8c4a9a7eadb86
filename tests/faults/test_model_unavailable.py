"""Model missing or corrupt at worker start: one clear error, scans stay queued until a good model is active."""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg, wait_for_status
from tests.worker import WorkerProcess, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_corrupt_model_keeps_scans_queued_until_a_good_one_is_active(user, tiny_artifact_dir, tmp_path):
    import shutil

    from ml.services import register_model

    broken_dir = tmp_path / "broken-model"
    shutil.copytree(tiny_artifact_dir, broken_dir)
    broken, _ = register_model(broken_dir, activate=True, name="broken")
    (broken_dir / "model.npz").write_bytes(b"corrupted on disk")

    flush_broker()
    worker = WorkerProcess(
        tmp_path / "worker.log", beat=True, SCAN_STUCK_AFTER_SECONDS=2, SCAN_SWEEP_INTERVAL_SECONDS=1
    )
    try:
        worker.wait_ready()
        scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
        time.sleep(6)  # several deliveries and sweeps happen meanwhile
        assert Scan.objects.get(id=scan.id).status == "queued"
        log = worker.log()
        assert log.count("no usable model at worker start") == 1
        assert "Traceback" not in log

        good_dir = tmp_path / "good-model"  # same weights, its own metadata, so its own checksum
        shutil.copytree(tiny_artifact_dir, good_dir)
        metadata = json.loads((good_dir / "metadata.json").read_text())
        metadata["name"] = "tiny-good"
        (good_dir / "metadata.json").write_text(json.dumps(metadata))
        register_model(good_dir, activate=True)
        scan = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
        assert scan.status == "done" and scan.model_version.name == "tiny-good"
    finally:
        worker.discard()
