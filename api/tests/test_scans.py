import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from api.serializers import ScanSerializer
from diagnosis.models import Scan
from diagnosis.tests.factories import PROBABILITIES, jpeg_upload, make_scan
from tests.support import image_bytes, media_files, png_bomb_header

from .helpers import error_of

pytestmark = pytest.mark.django_db

LIST = reverse("api:scan-list")


def detail(scan_id):
    return reverse("api:scan-detail", kwargs={"scan_id": scan_id})


def upload(client, data=None, name="face.jpg", content_type="image/jpeg", **extra):
    payload = {"image": jpeg_upload(data, name, content_type)}
    payload.update(extra.pop("fields", {}))
    return client.post(LIST, payload, format="multipart", **extra)


# --- upload -----------------------------------------------------------------------------------

def test_upload_returns_202_with_the_scan(auth_client, user, isolated_media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(auth_client, fields={"note": "left cheek"})
    assert response.status_code == 202
    body = response.json()
    scan = Scan.objects.get()
    assert scan.owner == user and scan.note == "left cheek"
    assert set(body) == {"id", "status", "created_at", "url", "disclaimer"}
    assert body["id"] == str(scan.id) and body["status"] == "queued"
    assert body["url"] == f"http://testserver/api/v1/scans/{scan.id}/"
    assert response["Location"] == body["url"]
    assert len(callbacks) == 1  # analysis queued after commit, like the web upload
    assert len(media_files(isolated_media)) == 2


def test_upload_is_judged_by_content_like_the_web_upload(auth_client):
    response = upload(auth_client, image_bytes("PNG"), name="photo.jpg")
    assert response.status_code == 202
    assert Image.open(Scan.objects.get().first_photo.image.path).format == "JPEG"


def test_idempotency_key_returns_the_same_scan(auth_client):
    first = upload(auth_client, HTTP_IDEMPOTENCY_KEY="abc-123")
    second = upload(auth_client, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Scan.objects.count() == 1
    third = upload(auth_client, HTTP_IDEMPOTENCY_KEY="other-key")
    assert third.json()["id"] != first.json()["id"]
    assert upload(auth_client).json()["id"] not in (first.json()["id"], third.json()["id"])


def test_idempotency_keys_are_per_user(auth_client, other_client):
    mine = upload(auth_client, HTTP_IDEMPOTENCY_KEY="same").json()["id"]
    theirs = upload(other_client, HTTP_IDEMPOTENCY_KEY="same").json()["id"]
    assert mine != theirs


def test_overlong_idempotency_key_is_400(auth_client):
    response = upload(auth_client, HTTP_IDEMPOTENCY_KEY="k" * 101)
    assert response.status_code == 400
    assert not Scan.objects.exists()


def truncated_jpeg():
    data = image_bytes("JPEG", size=(640, 480))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data, status, code",
    [
        (b"", 400, "empty_file"),
        (truncated_jpeg(), 400, "corrupt_image"),
        (image_bytes("PNG", size=(40, 40)), 400, "image_too_small"),
        (image_bytes("GIF"), 415, "unsupported_media_type"),
        (b"%PDF-1.4 not an image at all", 415, "unsupported_media_type"),
        (png_bomb_header(), 413, "image_too_large"),
    ],
    ids=["empty", "truncated", "too-small", "gif", "pdf", "pixel-bomb"],
)
def test_rejected_uploads_map_to_the_error_shape(auth_client, isolated_media, data, status, code):
    response = upload(auth_client, data)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert error["fields"]["image"] == [error["message"]]
    assert not Scan.objects.exists() and media_files(isolated_media) == []


def test_missing_image_is_400(auth_client):
    response = auth_client.post(LIST, {"note": "no photo"}, format="multipart")
    assert response.status_code == 400
    assert "image" in error_of(response)["fields"]


def test_image_sent_as_text_is_400(auth_client):
    response = auth_client.post(LIST, {"image": "not a file"}, format="multipart")
    assert response.status_code == 400


def test_overlong_note_is_400(auth_client):
    response = upload(auth_client, fields={"note": "x" * 2001})
    assert response.status_code == 400
    assert "note" in error_of(response)["fields"]


def test_oversized_file_is_413(auth_client, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 50_000
    response = upload(auth_client, image_bytes("PNG", size=(64, 64)) + b"\0" * 60_000)
    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"


def test_oversized_body_is_refused_before_reading(auth_client, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 50_000
    response = upload(auth_client, b"\0" * 300_000)
    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"


def test_request_data_too_big_is_413_not_500(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # counts non-file fields only
    response = upload(auth_client, fields={"note": "x" * 1500})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_json_upload_is_415(auth_client):
    response = auth_client.post(LIST, {"note": "x"}, format="json")
    assert response.status_code == 415
    error_of(response)


def test_upload_needs_a_token(api_client):
    response = upload(api_client)
    assert response.status_code == 401
    assert not Scan.objects.exists()


# --- detail -----------------------------------------------------------------------------------

def test_detail_while_queued_has_no_result_yet(auth_client, user):
    scan = make_scan(user)
    body = auth_client.get(detail(scan.id)).json()
    assert body["status"] == "queued"
    assert body["label"] is None and body["probabilities"] is None and body["model_version"] is None
    assert body["heatmap_url"] is None and body["review"] is None and body["error"] is None
    assert body["heatmap_box"] is None
    assert body["image_url"] == f"http://testserver/api/v1/scans/{scan.id}/image/"
    assert body["disclaimer"]


@pytest.mark.parametrize(
    ("label", "reason", "words"),
    [("uncertain", "no_colour", "colour photo is needed"), ("no_skin", "not_skin", "not look like a photo of a face")],
)
def test_detail_of_an_abstention_shows_why_and_no_percentages(auth_client, user, label, reason, words):
    scan = make_scan(user, status=Scan.Status.DONE, label=label)
    Scan.objects.filter(id=scan.id).update(reason=reason)
    body = auth_client.get(detail(scan.id)).json()
    assert body["label"] == label and body["reason"] == reason and words in body["reason_text"]
    assert body["probabilities"] is None
    assert body["analysis"] is None and body["disclaimer"]


def test_detail_when_done_has_the_result(auth_client, user, settings, model_version):
    scan = make_scan(user, status=Scan.Status.DONE, label="acne", heatmap=True, model_version=model_version)
    response = auth_client.get(detail(scan.id))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["label"] == "acne"
    assert body["probabilities"] == PROBABILITIES
    assert body["quality"] == {"blurry": True, "too_dark": False}
    assert body["quality_warnings"] and "blurry" in body["quality_warnings"][0]
    assert body["model_version"] == "vgg16-test-1"
    assert body["disclaimer"] == settings.DISCLAIMER
    assert body["heatmap_url"] == f"http://testserver/api/v1/scans/{scan.id}/heatmap/"
    assert body["heatmap_box"] == [0.25, 0.1, 0.75, 0.6]  # to draw it over the photo
    assert body["thumbnail_url"].endswith("/thumbnail/")
    assert body["can_retry"] is False
    assert body["review"] is None


@pytest.mark.parametrize("label", ["uncertain", "no_skin"])
def test_detail_reports_uncertain_and_no_skin(auth_client, user, label):
    scan = make_scan(user, status=Scan.Status.DONE, label=label)
    assert auth_client.get(detail(scan.id)).json()["label"] == label


def test_failed_scan_reports_its_error(auth_client, user):
    scan = make_scan(user, status=Scan.Status.FAILED, error="It broke.")
    body = auth_client.get(detail(scan.id)).json()
    assert body["status"] == "failed" and body["error"] == "It broke." and body["can_retry"] is True


def test_review_is_included_when_present(auth_client, user, other_user):
    from review.models import Review

    scan = make_scan(user, status=Scan.Status.DONE, label="acne")
    review = Review.objects.create(scan=scan, reviewer=other_user, label="rosacea", model_label="acne")
    body = auth_client.get(detail(scan.id)).json()
    assert body["review"] == {"label": "rosacea", "reviewed_at": body["review"]["reviewed_at"],
                              "lesion_grade": None}  # added with the lesion readout: not graded
    assert body["review"]["reviewed_at"].startswith(review.created_at.strftime("%Y-%m-%dT%H:%M"))
    listed = auth_client.get(LIST).json()["results"][0]
    assert listed["review"]["label"] == "rosacea"


def test_review_missing_is_null(user):
    class Unreviewed(Scan):
        class Meta:
            proxy = True
            app_label = "api"

        @property
        def review(self):
            raise ObjectDoesNotExist

    scan = make_scan(user)
    scan.__class__ = Unreviewed
    assert ScanSerializer(scan).data["review"] is None


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", "%20"])
def test_malformed_ids_are_404(auth_client, bad_id):
    for url in (f"/api/v1/scans/{bad_id}/", f"/api/v1/scans/{bad_id}/image/", f"/api/v1/scans/{bad_id}/retry/"):
        response = auth_client.post(url) if url.endswith("retry/") else auth_client.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"


def test_unknown_scan_is_404(auth_client):
    response = auth_client.get(detail("5b4cf8a3-54e5-4c0a-9b0e-2b8f4cf0f7a1"))
    assert response.status_code == 404


def test_unknown_api_path_is_a_json_404(auth_client):
    response = auth_client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    hint = error_of(auth_client.get("/api/v1/scans"))["message"]
    assert "/api/v1/scans/" in hint


# --- list -------------------------------------------------------------------------------------

def _aged(scan, days):
    Scan.objects.filter(id=scan.id).update(created_at=timezone.now() - timedelta(days=days))
    return scan


def test_list_is_own_scans_newest_first(auth_client, user, other_user):
    old = _aged(make_scan(user), 3)
    new = make_scan(user)
    make_scan(other_user)
    body = auth_client.get(LIST).json()
    assert body["count"] == 2
    assert [s["id"] for s in body["results"]] == [str(new.id), str(old.id)]
    assert body["disclaimer"]
    assert body["next"] is None and body["previous"] is None


def test_list_is_paginated(auth_client, user):
    for _ in range(5):
        make_scan(user)
    first = auth_client.get(LIST, {"page_size": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    last = auth_client.get(LIST, {"page_size": 2, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None and last["previous"]
    ids = {s["id"] for p in (1, 2, 3) for s in auth_client.get(LIST, {"page_size": 2, "page": p}).json()["results"]}
    assert len(ids) == 5
    response = auth_client.get(LIST, {"page": 9})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_default_page_size_is_20(auth_client, user):
    for _ in range(21):
        Scan.objects.create(owner=user)
    body = auth_client.get(LIST).json()
    assert body["count"] == 21 and len(body["results"]) == 20


def test_list_filters_by_label_and_status(auth_client, user):
    acne = make_scan(user, status=Scan.Status.DONE, label="acne")
    make_scan(user, status=Scan.Status.DONE, label="eczema")
    queued = make_scan(user)
    assert [s["id"] for s in auth_client.get(LIST, {"label": "acne"}).json()["results"]] == [str(acne.id)]
    assert [s["id"] for s in auth_client.get(LIST, {"status": "queued"}).json()["results"]] == [str(queued.id)]
    assert auth_client.get(LIST, {"status": "done"}).json()["count"] == 2
    assert auth_client.get(LIST, {"label": "rosacea"}).json()["count"] == 0


def test_list_filters_by_date_range(auth_client, user):
    old = _aged(make_scan(user), 10)
    mid = _aged(make_scan(user), 5)
    new = make_scan(user)
    today = timezone.localdate()

    def ids(**params):
        return {s["id"] for s in auth_client.get(LIST, params).json()["results"]}

    assert ids(date_from=str(today - timedelta(days=6))) == {str(mid.id), str(new.id)}
    assert ids(date_to=str(today - timedelta(days=6))) == {str(old.id)}
    assert ids(date_from=str(today - timedelta(days=5)), date_to=str(today - timedelta(days=5))) == {str(mid.id)}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"label": "cancer"}, "label"),
        ({"status": "weird"}, "status"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2026-02-02", "date_to": "2026-01-01"}, "date_to"),
        ({"page_size": "x"}, None),
    ],
)
def test_bad_filters_are_400(auth_client, user, params, field):
    make_scan(user)
    response = auth_client.get(LIST, params)
    if field is None:  # DRF ignores an unparsable page_size and uses the default
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_list_needs_a_token(api_client):
    assert api_client.get(LIST).status_code == 401


# --- note, delete, retry ----------------------------------------------------------------------

def test_patch_edits_the_note_only(auth_client, user):
    scan = make_scan(user, status=Scan.Status.DONE, label="acne")
    response = auth_client.patch(detail(scan.id), {"note": "after a week", "label": "healthy"}, format="json")
    assert response.status_code == 200
    assert response.json()["note"] == "after a week" and response.json()["label"] == "acne"
    scan.refresh_from_db()
    assert scan.note == "after a week" and scan.label == "acne"


def test_patch_with_overlong_note_is_400(auth_client, user):
    scan = make_scan(user, note="kept")
    response = auth_client.patch(detail(scan.id), {"note": "x" * 2001}, format="json")
    assert response.status_code == 400 and "note" in error_of(response)["fields"]
    scan.refresh_from_db()
    assert scan.note == "kept"


def test_patch_needs_json(auth_client, user):
    scan = make_scan(user)
    assert auth_client.patch(detail(scan.id), "note=x", content_type="text/plain").status_code == 415


def test_delete_removes_the_scan_and_its_files(auth_client, user, isolated_media, django_capture_on_commit_callbacks):
    scan = make_scan(user, status=Scan.Status.DONE, heatmap=True)
    assert len(media_files(isolated_media)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(detail(scan.id))
    assert response.status_code == 204
    assert not Scan.objects.exists()
    assert media_files(isolated_media) == []
    assert auth_client.get(detail(scan.id)).status_code == 404


def test_retry_queues_a_failed_scan(auth_client, user, django_capture_on_commit_callbacks):
    scan = make_scan(user, status=Scan.Status.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client.post(reverse("api:scan-retry", kwargs={"scan_id": scan.id}))
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["error"] is None
    assert len(callbacks) == 1


@pytest.mark.parametrize("state", [Scan.Status.DONE, Scan.Status.QUEUED, Scan.Status.ANALYSING])
def test_retry_of_a_scan_that_did_not_fail_is_409(auth_client, user, state):
    scan = make_scan(user, status=state)
    response = auth_client.post(reverse("api:scan-retry", kwargs={"scan_id": scan.id}))
    assert response.status_code == 409
    assert error_of(response)["code"] == "not_retryable"


# --- media ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["image", "thumbnail", "heatmap"])
def test_media_are_served_to_the_owner(auth_client, user, kind):
    scan = make_scan(user, status=Scan.Status.DONE, heatmap=True)
    response = auth_client.get(reverse(f"api:scan-{kind}", kwargs={"scan_id": scan.id}), HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "JPEG"


def test_heatmap_before_done_is_404(auth_client, user):
    scan = make_scan(user)
    response = auth_client.get(reverse("api:scan-heatmap", kwargs={"scan_id": scan.id}), HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_media_file_missing_on_disk_is_404(auth_client, user):
    scan = make_scan(user)
    scan.first_photo.image.storage.delete(scan.first_photo.image.name)
    assert auth_client.get(reverse("api:scan-image", kwargs={"scan_id": scan.id})).status_code == 404


def test_media_need_a_token(api_client, user):
    scan = make_scan(user)
    assert api_client.get(reverse("api:scan-image", kwargs={"scan_id": scan.id})).status_code == 401


def test_reviewers_may_see_media_and_it_is_audited(other_user, other_client, user):
    from diagnosis.signals import media_viewed_by_reviewer

    other_user.user_permissions.add(Permission.objects.get(codename="review_scan"))
    scan = make_scan(user, status=Scan.Status.DONE)  # reviewable: queued/analysing scans' media stay closed
    seen = []

    def receiver(sender, scan, user, kind, **kwargs):
        seen.append((scan.id, user.id, kind))

    media_viewed_by_reviewer.connect(receiver)
    try:
        response = other_client.get(reverse("api:scan-image", kwargs={"scan_id": scan.id}))
    finally:
        media_viewed_by_reviewer.disconnect(receiver)
    assert response.status_code == 200
    assert seen == [(scan.id, other_user.id, "image")]
    # ...but the scan itself is still not theirs
    assert other_client.get(detail(scan.id)).status_code == 404
