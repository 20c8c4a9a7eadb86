"""POST /api/v1/scans/ with 1, 2, 3 and 4 photos; each photo's result and files in `photos`; access."""

import pytest
from django.urls import reverse

from diagnosis.models import Scan, ScanPhoto
from diagnosis.tests.factories import jpeg_upload, make_multi_photo_scan
from tests.support import face_like_jpeg, image_bytes, jpeg_with_exif_orientation, media_files, png_bomb_header

from .helpers import error_of

pytestmark = pytest.mark.django_db

LIST = reverse("api:scan-list")
SIDES = ("image", "image_left", "image_right")


def detail(scan_id):
    return reverse("api:scan-detail", kwargs={"scan_id": scan_id})


def photo_url(scan_id, view, kind="image"):
    path = reverse("api:scan-photo-media", kwargs={"scan_id": scan_id, "view": view, "kind": kind})
    return f"http://testserver{path}"


def upload(client, n_photos, **extra):
    payload = {field: jpeg_upload(face_like_jpeg(seed=i)) for i, field in enumerate(SIDES[:n_photos])}
    payload.update(extra.pop("fields", {}))
    return client.post(LIST, payload, format="multipart", **extra)


@pytest.mark.parametrize("n_photos", [1, 2, 3])
def test_one_to_three_photos_make_one_scan(auth_client, isolated_media, n_photos):
    response = upload(auth_client, n_photos)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status", "created_at", "url", "disclaimer"}  # the answer of a one-photo upload
    scan = Scan.objects.get()
    assert scan.photos.count() == n_photos
    assert len(media_files(isolated_media)) == 2 * n_photos

    scan_body = auth_client.get(body["url"]).json()
    views = ["front", "left", "right"][:n_photos]
    assert [p["view"] for p in scan_body["photos"]] == views
    # the scan's own URLs serve its first (front) photo; each photo has its own, the front one too
    first_photo = auth_client.get(scan_body["photos"][0]["image_url"])
    assert b"".join(auth_client.get(scan_body["image_url"]).streaming_content) == b"".join(
        first_photo.streaming_content)
    for entry in scan_body["photos"]:
        assert entry["image_url"] == photo_url(scan.id, entry["view"])
        assert entry["thumbnail_url"] == photo_url(scan.id, entry["view"], "thumbnail")
        assert entry["label"] is None and entry["counted"] is None and entry["heatmap_url"] is None
        image = auth_client.get(entry["image_url"])
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


def test_a_one_photo_scan_keeps_every_field_it_had(auth_client, user):
    from diagnosis.tests.factories import make_scan

    scan = make_scan(user, status=Scan.Status.DONE, label="acne", heatmap=True)
    body = auth_client.get(detail(scan.id)).json()
    assert body["label"] == "acne" and body["heatmap_box"] == [0.25, 0.1, 0.75, 0.6]
    assert body["image_url"].endswith(f"/scans/{scan.id}/image/")
    # a one-photo scan: its one photo's result is the scan's
    (front,) = body["photos"]
    assert front["view"] == "front" and front["label"] == "acne" and front["counted"] is True
    assert front["probabilities"] == body["probabilities"] and front["heatmap_box"] == body["heatmap_box"]
    assert front["heatmap_url"] == photo_url(scan.id, "front", "heatmap")


@pytest.mark.parametrize("payload", ["four fields", "four under image"])
def test_four_photos_are_a_clean_400_and_nothing_is_stored(auth_client, isolated_media, payload):
    if payload == "four fields":
        data = {"image": [jpeg_upload(), jpeg_upload()], "image_left": jpeg_upload(), "image_right": jpeg_upload()}
    else:
        data = {"image": [jpeg_upload() for _ in range(4)]}
    response = auth_client.post(LIST, data, format="multipart")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_many_photos" and "at most 3 photos" in error["message"]
    assert not Scan.objects.exists() and media_files(isolated_media) == []


def test_two_photos_under_one_field_or_an_unknown_field_are_refused(auth_client):
    response = auth_client.post(LIST, {"image": [jpeg_upload(), jpeg_upload()]}, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["fields"]["image"] == [error_of(response)["message"]]
    response = auth_client.post(LIST, {"image": jpeg_upload(), "image_top": jpeg_upload()}, format="multipart")
    assert response.status_code == 400
    assert "image_top" in error_of(response)["fields"]
    assert not Scan.objects.exists()


def test_a_side_photo_without_a_front_photo_is_400(auth_client):
    response = auth_client.post(LIST, {"image_left": jpeg_upload()}, format="multipart")
    assert response.status_code == 400 and "image" in error_of(response)["fields"]


@pytest.mark.parametrize(("bad", "status", "code"), [
    (image_bytes("JPEG", size=(640, 480))[:900], 400, "corrupt_image"),
    (b"", 400, "empty_file"),
    (png_bomb_header(), 413, "image_too_large"),
    (image_bytes("GIF"), 415, "unsupported_media_type"),
    (image_bytes("PNG", size=(40, 40)), 400, "image_too_small"),
], ids=["truncated", "empty", "pixel-bomb", "gif", "too-small"])
@pytest.mark.parametrize("field", ["image_left", "image_right"])
def test_a_good_and_a_bad_photo_are_refused_together(auth_client, isolated_media, bad, status, code, field):
    response = upload(auth_client, 1, fields={field: jpeg_upload(bad)})
    assert response.status_code == status
    error = error_of(response)
    side = "Left side" if field == "image_left" else "Right side"
    assert error["code"] == code and error["message"].startswith(f"{side} photo: ")
    assert error["fields"] == {field: [error["message"]]}
    assert not Scan.objects.exists() and not ScanPhoto.objects.exists() and media_files(isolated_media) == []


def test_a_bad_front_photo_keeps_its_message_of_before(auth_client):
    response = auth_client.post(LIST, {"image": jpeg_upload(b""), "image_left": jpeg_upload()}, format="multipart")
    error = error_of(response)
    assert error["code"] == "empty_file" and error["fields"] == {"image": [error["message"]]}
    assert not error["message"].startswith("Front")


def test_side_photos_lose_their_metadata(auth_client):
    data = {"image": jpeg_upload(), "image_left": jpeg_upload(jpeg_with_exif_orientation(6))}
    response = auth_client.post(LIST, data, format="multipart")
    assert response.status_code == 202
    from PIL import Image

    stored = Image.open(ScanPhoto.objects.get(view="left").image.path)
    assert stored.size == (200, 300) and not stored.getexif()


def test_an_idempotent_retry_of_a_multi_photo_upload_returns_the_first_scan(auth_client, isolated_media):
    first = upload(auth_client, 3, HTTP_IDEMPOTENCY_KEY="phone-42")
    again = upload(auth_client, 3, HTTP_IDEMPOTENCY_KEY="phone-42")
    assert first.status_code == again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert Scan.objects.count() == 1 and ScanPhoto.objects.count() == 3 and len(media_files(isolated_media)) == 6


def test_every_photo_counts_against_the_upload_throttle(auth_client, settings):
    settings.SCAN_UPLOAD_RATE = "4/hour"
    assert upload(auth_client, 3).status_code == 202
    assert upload(auth_client, 1).status_code == 202  # the fourth photo this hour
    response = upload(auth_client, 2)
    assert response.status_code == 429 and error_of(response)["code"] == "throttled" and response["Retry-After"]
    assert Scan.objects.count() == 2


def test_a_finished_scan_says_what_each_photo_showed(auth_client, user):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, label="acne", photo_labels=["acne", "no_skin", "acne"])
    body = auth_client.get(detail(scan.id)).json()
    assert body["label"] == "acne"
    front, left, right = body["photos"]
    assert (front["label"], front["counted"], front["reason"]) == ("acne", True, "confident")
    assert front["probabilities"]["acne"] == 0.7
    assert (left["label"], left["counted"], left["probabilities"]) == ("no_skin", False, None)
    assert "does not look like a photo of a face" in left["reason_text"]
    assert left["quality"] == {"blurry": False} and left["quality_warnings"] == []
    assert right["counted"] is True


def test_the_list_shows_the_photos_of_each_scan(auth_client, user):
    make_multi_photo_scan(user, views=("right",))
    make_multi_photo_scan(user, views=())
    results = auth_client.get(LIST).json()["results"]
    assert sorted(len(r["photos"]) for r in results) == [1, 2]


@pytest.mark.django_db(transaction=True)  # the files go once the deletion commits
def test_deleting_a_scan_by_the_api_removes_every_photo(auth_client, user, isolated_media):
    scan = make_multi_photo_scan(user)
    assert len(media_files(isolated_media)) == 6
    assert auth_client.delete(detail(scan.id)).status_code == 204
    assert not Scan.objects.exists() and not ScanPhoto.objects.exists()
    assert media_files(isolated_media) == []


@pytest.mark.parametrize("view", ["front", "left", "right"])
@pytest.mark.parametrize("kind", ["image", "thumbnail", "heatmap"])
def test_other_users_get_404_for_every_photo(other_client, user, view, kind):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE)
    response = other_client.get(photo_url(scan.id, view, kind))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert other_client.get(detail(scan.id)).status_code == 404


def test_photo_urls_that_name_nothing_are_404(auth_client, user):
    scan = make_multi_photo_scan(user, views=("left",))
    assert auth_client.get(photo_url(scan.id, "right")).status_code == 404  # no right photo
    assert auth_client.get(photo_url(scan.id, "top")).status_code == 404
    assert auth_client.get(photo_url(scan.id, "left", "secret")).status_code == 404
    assert auth_client.get(photo_url("not-a-uuid", "left")).status_code == 404
    assert auth_client.get(photo_url(scan.id, "left", "heatmap")).status_code == 404  # none before analysis


def test_a_photo_url_needs_a_token(api_client, user):
    scan = make_multi_photo_scan(user)
    assert api_client.get(photo_url(scan.id, "left")).status_code == 401
