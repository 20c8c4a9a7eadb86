"""A real worker with an active and a shadow model on the same scans: both results stored, only the active
one served (the owner's page, the API, the review page)."""

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from api.tests.helpers import obtain_tokens
from diagnosis import services
from diagnosis.models import CONDITIONS
from ml.services import register_model
from review.models import ModelResult
from tests.support import face_like_jpeg, wait_for_status
from tests.worker import WorkerProcess, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH = 4


def test_a_real_worker_runs_the_shadow_beside_the_active_model(user, client, reviewer, model_variants, tmp_path):
    active, _ = register_model(model_variants["right"], activate=True)
    shadow, _ = register_model(model_variants["rotated-1"], shadow=True)
    flush_broker()
    scans = [services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg(seed=i)))[0]
             for i in range(BATCH)]
    worker = WorkerProcess(tmp_path / "worker.log", SCAN_BATCH_SIZE=BATCH, SCAN_BATCH_WAIT_SECONDS=30)
    try:
        worker.wait_ready()
        for scan in scans:
            done = wait_for_status(scan.id, {"done", "failed"}, timeout=120)
            assert done.status == "done", done.error
        deadline = time.monotonic() + 60
        stored_apart = f"shadow model {shadow.name}: {BATCH} result(s) stored apart"
        # the worker logs the shadow's line just after storing its results: wait for both
        while ModelResult.objects.filter(kind="shadow").count() < BATCH or stored_apart not in worker.log():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.2)
        log = worker.log()
    finally:
        worker.discard()
    # one batch: the active model's pass, its results stored, then the shadow's pass on the same photos
    assert re.findall(r"analysed (\d+) scan\(s\) in one batch", log) == [str(BATCH)]
    assert f"shadow model {shadow.name}: {BATCH} result(s) stored apart" in log
    assert log.index("analysed 4 scan(s) in one batch") < log.index(f"shadow model {shadow.name}:")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {obtain_tokens(api, user.email)['access']}")
    client.force_login(reviewer)
    for scan in scans:
        scan.refresh_from_db()
        served = ModelResult.objects.get(scan=scan, kind="served")
        apart = ModelResult.objects.get(scan=scan, kind="shadow")
        assert (served.model_version, served.label) == (active, scan.label) and scan.model_version == active
        assert apart.model_version == shadow
        assert apart.label == CONDITIONS[(CONDITIONS.index(scan.label) - 1) % 4] != scan.label
        body = api.get(reverse("api:scan-detail", args=[scan.id])).json()
        assert (body["label"], body["model_version"]) == (scan.label, active.name)
        assert shadow.name not in str(body)
        review_page = client.get(reverse("review:review-scan", args=[scan.id])).content.decode()
        assert active.name in review_page and shadow.name not in review_page
    client.force_login(user)
    page = client.get(reverse("diagnosis:scan-detail", args=[scans[0].id])).content.decode()
    assert active.name in page and shadow.name not in page
