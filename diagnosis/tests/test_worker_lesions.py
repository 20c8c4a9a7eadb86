"""Upload → a real Celery worker process with the session's tiny model (its lesion head included) → the
result page shows the spots counted, as the worker stored them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.readouts import lesions as lesion_readout
from diagnosis.tests.factories import photos_read_as
from ml.core.lesions import LesionFindings
from tests.support import wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_acne_photo_analysed_by_a_live_worker_shows_its_spots(client, user, live_worker, tiny_dataset):
    photo = photos_read_as(tiny_dataset, "acne")[0]
    client.force_login(user)
    response = client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("acne.jpg", photo)})
    assert response.status_code == 302
    scan = wait_for_status(Scan.objects.get().id, {"done", "failed"}, timeout=120)
    assert scan.status == "done", scan.error
    assert scan.label == "acne"
    found = LesionFindings.from_json(scan.first_photo.lesions)
    assert found is not None, "the worker stored no lesion findings"  # the tiny model has a lesion head
    assert found.count == len(found.boxes) and (found.grade is None) == (found.count == 0)
    for x0, y0, x1, y1, _score in found.boxes:  # in the stored photo's own pixels
        assert 0 <= x0 < x1 <= scan.first_photo.image_width + 1 and 0 <= y0 < y1 <= scan.first_photo.image_height + 1

    html = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert lesion_readout.summary_text(found, "acne") in html
    assert html.count('class="lesion-box"') == found.count
    body = client.get(reverse("diagnosis:chart-data")).json()
    assert [p["count"] for p in body["lesions"]["points"]] == [found.count]
