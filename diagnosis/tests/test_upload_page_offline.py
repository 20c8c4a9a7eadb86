"""The upload page's own script sends photos kept offline: JSON answers and one scan per idempotency key
(the browser side is tests/test_browser_capture_offline.py); the service worker and its offline page."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.models import Scan

pytestmark = pytest.mark.django_db
AS_SCRIPT = {"HTTP_ACCEPT": "application/json"}


def send(client, photo_upload, key, **headers):
    return client.post(reverse("diagnosis:upload"), {"image": photo_upload(), "note": "on the train",
                                                     "idempotency_key": key}, **AS_SCRIPT, **headers)


def test_a_photo_sent_again_with_its_key_makes_one_scan(user_client, user, photo_upload):
    first = send(user_client, photo_upload, "photo-1")
    again = send(user_client, photo_upload, "photo-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert first.json()["url"] == reverse("diagnosis:scan-detail", args=[first.json()["id"]])
    assert Scan.objects.filter(owner=user).count() == 1
    assert Scan.objects.get().idempotency_key == "photo-1" and Scan.objects.get().note == "on the train"


def test_the_idempotency_key_header_works_too_and_keys_are_per_person(user_client, user, other_user, photo_upload):
    by_header = user_client.post(reverse("diagnosis:upload"), {"image": photo_upload()}, **AS_SCRIPT,
                                 HTTP_IDEMPOTENCY_KEY="photo-2")
    assert by_header.status_code == 201 and Scan.objects.get().idempotency_key == "photo-2"
    other = Client()
    other.force_login(other_user)
    assert send(other, photo_upload, "photo-2").status_code == 201  # someone else's key is theirs
    assert Scan.objects.count() == 2


def test_a_refused_photo_answers_json_that_says_not_to_retry(user_client, photo_upload):
    response = send(user_client, lambda: photo_upload(b"%PDF-1.4 not a photo"), "photo-3")
    assert response.status_code == 415
    body = response.json()
    assert body["retry"] is False and "JPEG, PNG or WebP" in body["error"]
    assert Scan.objects.count() == 0


def test_without_json_the_form_still_answers_as_a_page(user_client, photo_upload):
    response = user_client.post(reverse("diagnosis:upload"), {"image": photo_upload(), "idempotency_key": "k"})
    assert response.status_code == 302 and response["Location"].startswith("/scans/")


def test_the_upload_page_carries_a_key_field_for_the_script(user_client):
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    assert re.search(r'<input type="hidden" name="idempotency_key"[^>]*id="id_idempotency_key"', html)
    assert 'id="pending-uploads"' in html and "offline-uploads.js" in html


def test_the_service_worker_keeps_the_shell_and_nothing_personal(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    shell = json.loads(re.search(r"var SHELL_FILES = (\[.*?\]);", script).group(1))
    assert "/offline/" in shell and "/offline/upload/" in shell and "/static/js/capture.js" in shell
    assert "/static/vendor/blazeface/blazeface-short.bin" in shell and "/static/js/blazeface.js" in shell
    assert not [url for url in shell if url.startswith(("/api/", "/media/", "/scans/"))]
    for url in shell:  # every kept file exists, or the service worker would not install
        assert client.get(url).status_code == 200, url
    # No signed-in page is kept: offline, the upload page is an anonymous stand-in (tests/test_session_end.py).
    stand_ins = json.loads(re.search(r"var OFFLINE_PAGES = (\{.*?\});", script).group(1))
    assert stand_ins == {"/scans/new/": "/offline/upload/"}
    # Installing downloads the small shell only; the 0.8 MB face detector is kept on first use.
    precache = json.loads(re.search(r"var PRECACHE = (\[.*?\]);", script).group(1))
    assert set(precache) < set(shell) and not [url for url in precache if "blazeface" in url]


def test_the_offline_page_says_photos_wait_on_the_device(client):
    html = client.get(reverse("offline")).content.decode()
    assert "You are offline" in html and "kept on this device" in html

