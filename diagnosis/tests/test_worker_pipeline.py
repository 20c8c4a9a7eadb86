"""Upload to `done` through PostgreSQL, Redis and a real Celery worker process started here."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnosis.models import Scan
from tests.support import face_like_jpeg, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_upload_is_analysed_by_a_real_worker(client, user, live_worker):
    client.force_login(user)
    response = client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())})
    assert response.status_code == 302
    scan = Scan.objects.get()
    status = client.get(reverse("diagnosis:scan-status", args=[scan.id])).json()
    assert status["status"] in {"queued", "analysing", "done"}

    scan = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
    assert scan.status == "done", scan.error
    assert scan.model_version.name == "tiny-vgg16-test"
    page = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Model version" in page and "screening aid" in page.lower()
    heatmap = client.get(reverse("diagnosis:scan-media", args=[scan.id, "heatmap"]))
    if scan.label in ("acne", "eczema", "healthy", "rosacea"):
        assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/jpeg"
    else:  # uncertain / no skin: no heatmap to show
        assert heatmap.status_code == 404
    assert "succeeded" in live_worker.log() or "done" in live_worker.log()
