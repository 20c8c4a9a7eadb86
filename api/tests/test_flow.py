"""The whole lifecycle through the API against a real Redis broker and a real Celery worker process."""

import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from diagnosis.models import Scan
from diagnosis.tests.factories import jpeg_upload
from tests.support import face_like_jpeg, media_files, wait_for_status

from .helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def poll_until_finished(client, url, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["status"] in ("done", "failed"):
            return body
        assert body["status"] in ("queued", "analysing"), body
        assert time.monotonic() < deadline, f"scan still {body['status']} after {timeout}s"
        time.sleep(0.25)


def test_register_token_upload_poll_list_delete(live_worker, active_model, isolated_media):
    client = APIClient()
    email = "flow@example.com"

    assert client.post(reverse("api:register"), {"email": email, "password": PASSWORD},
                       format="json").status_code == 201
    unconfirmed = client.post(reverse("api:token"), {"email": email, "password": PASSWORD}, format="json")
    assert unconfirmed.status_code == 403 and unconfirmed.json()["error"]["code"] == "email_unconfirmed"
    # The person opens the e-mail's link in a browser and types the password.
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.services import confirmation_link_path

    link = confirmation_link_path(get_user_model().objects.get(email=email))
    assert Client().post(link, {"action": "password", "password": PASSWORD}).status_code == 302
    tokens = client.post(reverse("api:token"), {"email": email, "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    accepted = client.post(reverse("api:scan-list"), {"image": jpeg_upload(face_like_jpeg(seed=7)), "note": "flow"},
                           format="multipart", HTTP_IDEMPOTENCY_KEY="flow-1")
    assert accepted.status_code == 202, accepted.content
    scan_url = accepted.json()["url"]

    wait_for_status(accepted.json()["id"], {"done", "failed"}, timeout=120)
    result = poll_until_finished(client, scan_url)
    assert result["status"] == "done", (result, live_worker.log()[-3000:])
    assert result["label"] in ("acne", "eczema", "healthy", "rosacea", "uncertain", "no_skin")
    assert result["reason"] and result["reason_text"]
    judged = result["label"] in ("acne", "eczema", "healthy", "rosacea")
    if judged:
        assert abs(sum(result["probabilities"].values()) - 1.0) < 1e-3
    else:  # no percentages and no heatmap when the model cannot judge
        assert result["probabilities"] is None and result["heatmap_url"] is None
    assert result["model_version"] == active_model.name
    assert result["disclaimer"] and result["note"] == "flow"
    for key in ("image_url", "heatmap_url") if judged else ("image_url",):
        media = client.get(result[key])
        assert media.status_code == 200 and media["Content-Type"] == "image/jpeg", key

    # a retried upload (same key) is the same scan, not a second analysis
    again = client.post(reverse("api:scan-list"), {"image": jpeg_upload()}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="flow-1")
    assert again.json()["id"] == result["id"]

    listing = client.get(reverse("api:scan-list")).json()
    assert [s["id"] for s in listing["results"]] == [result["id"]]
    assert listing["results"][0]["status"] == "done"
    summary = client.get(reverse("api:history-summary")).json()
    charted = [result["id"]] if result["label"] in ("acne", "eczema", "healthy", "rosacea") else []  # a class only
    assert [p["scan_id"] for p in summary["points"]] == charted

    assert client.delete(scan_url).status_code == 204
    assert client.get(scan_url).status_code == 404
    assert not Scan.objects.exists()
    assert media_files(isolated_media) == []

    refresh = client.post(reverse("api:token-refresh"), {"refresh": tokens["refresh"]}, format="json").json()
    assert client.post(reverse("api:logout"), {"refresh": refresh["refresh"]}, format="json").status_code == 204
