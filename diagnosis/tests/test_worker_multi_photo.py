"""A three-photo scan from the API to `done` through PostgreSQL, Redis and a real Celery worker process."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis.tests.factories import jpeg_upload, photos_read_as
from tests.support import wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_three_photo_scan_is_analysed_in_one_batch_by_a_real_worker(client, user, live_worker, tiny_dataset):
    acne = photos_read_as(tiny_dataset, "acne", 2)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    response = api.post(reverse("api:scan-list"), {
        "image": jpeg_upload(acne[0]),
        "image_left": jpeg_upload(photos_read_as(tiny_dataset, "no_skin")[0]),  # no skin to judge
        "image_right": jpeg_upload(acne[1]),
    }, format="multipart", HTTP_IDEMPOTENCY_KEY="worker-multi-1")
    assert response.status_code == 202, response.content

    scan = wait_for_status(response.json()["id"], {"done", "failed"}, timeout=120)
    assert scan.status == "done", scan.error
    body = api.get(response.json()["url"]).json()
    assert body["label"] == "acne" and body["reason"] == "confident"
    assert [(p["view"], p["label"], p["counted"]) for p in body["photos"]] == [
        ("front", "acne", True), ("left", "no_skin", False), ("right", "acne", True)]
    right = body["photos"][2]
    assert right["heatmap_url"] and api.get(right["heatmap_url"]).status_code == 200
    assert body["photos"][1]["heatmap_url"] is None
    assert "1 scan(s) in one batch (3 photos)" in live_worker.log()

    client.force_login(user)
    page = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "3 photos" in page and "Not counted:" in page
