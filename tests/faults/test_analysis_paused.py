"""No usable model: the scan page, the API and /healthz/ say so; activating a good model resumes at once."""

import json
import shutil
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnosis import services
from diagnosis.models import Scan
from facediag_site import health
from ml import runtime
from ml.services import register_model
from tests.support import face_like_jpeg, wait_for_status
from tests.worker import WorkerProcess, flush_broker


@pytest.fixture(autouse=True)
def _fresh_checks():
    health.clear_pause_cache()
    runtime.clear_cache()
    yield
    health.clear_pause_cache()
    runtime.clear_cache()


def corrupted_copy(tiny_artifact_dir, tmp_path):
    broken_dir = tmp_path / "broken-model"
    shutil.copytree(tiny_artifact_dir, broken_dir)
    meta = json.loads((broken_dir / "metadata.json").read_text())
    meta["name"] = "broken"  # its own checksum, so re-registering the good one is a different version
    (broken_dir / "metadata.json").write_text(json.dumps(meta))
    register_model(broken_dir, activate=True, name="broken")
    (broken_dir / "model.npz").write_bytes(b"corrupted on disk")
    return broken_dir


def api_headers(client, user):
    from rest_framework_simplejwt.tokens import RefreshToken

    return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.mark.django_db
def test_corrupt_model_is_explained_on_the_page_in_the_api_and_by_healthz(client, user, tiny_artifact_dir, tmp_path):
    corrupted_copy(tiny_artifact_dir, tmp_path)
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    client.force_login(user)

    page = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Analysis is paused" in page and "Your photo is kept and will be analysed automatically" in page

    body = client.get(f"/api/v1/scans/{scan.id}/", **api_headers(client, user)).json()
    assert body["status"] == "queued"
    assert body["analysis"]["state"] == "paused" and body["analysis"]["reason"] == "model_unavailable"
    assert "broken" in body["analysis"]["detail"] and body["disclaimer"]

    probe = client.get(reverse("healthz") + "?ready=1")  # no worker runs here: leave its heartbeat out
    assert probe.status_code == 503
    assert probe.json()["down"] == ["model"] and "broken" in probe.json()["checks"]["model"]


@pytest.mark.django_db
def test_no_active_model_is_explained_and_a_good_one_clears_it(client, user, tiny_artifact_dir):
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    client.force_login(user)
    assert client.get(reverse("healthz")).json()["checks"]["model"] == "no model is active"
    status = client.get(reverse("diagnosis:scan-status", args=[scan.id])).json()
    assert status["analysis"]["reason"] == "model_unavailable"

    register_model(tiny_artifact_dir, activate=True)
    health.clear_pause_cache()
    assert client.get(reverse("healthz") + "?ready=1").status_code == 200
    assert client.get(reverse("diagnosis:scan-status", args=[scan.id])).json()["analysis"]["state"] == "running"
    assert client.get(reverse("healthz") + "?live=1").json() == {"status": "ok"}


@pytest.mark.django_db
def test_a_model_on_other_base_weights_is_not_usable(client, tiny_artifact_dir, tmp_path):
    other = tmp_path / "other-base"
    shutil.copytree(tiny_artifact_dir, other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["base_weights_id"] = "0" * 64
    (other / "metadata.json").write_text(json.dumps(meta))
    register_model(other, activate=True, name="other-base")
    assert "other VGG16 base weights" in client.get(reverse("healthz")).json()["checks"]["model"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_activating_a_good_model_requeues_waiting_scans_at_once(user, tiny_artifact_dir, tmp_path):
    corrupted_copy(tiny_artifact_dir, tmp_path)
    flush_broker()
    # no beat and a long sweep delay: only the activation itself can get the scan analysed in time
    worker = WorkerProcess(tmp_path / "worker.log", SCAN_STUCK_AFTER_SECONDS=3600)
    try:
        worker.wait_ready()
        scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
        deadline = time.monotonic() + 60
        while "left queued" not in worker.log():  # the worker took it, found no usable model, released it
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.2)
        assert Scan.objects.get(id=scan.id).status == "queued"
        register_model(tiny_artifact_dir, activate=True)
        scan = wait_for_status(scan.id, {"done", "failed"}, timeout=60)
        assert scan.status == "done", worker.log()[-3000:]
    finally:
        worker.discard()
