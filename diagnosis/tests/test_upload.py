import io

import pytest
from django.urls import reverse
from PIL import Image

from diagnosis.models import Scan
from tests.support import image_bytes, jpeg_with_exif_orientation, media_files, png_bomb_header

pytestmark = pytest.mark.django_db


def post_upload(client, data, name="face.jpg", content_type="image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile(name, data, content_type)})


def test_upload_page_opens_the_camera_on_phones(user_client):
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    assert 'accept="image/*"' in html and "capture" in html


def test_upload_stores_a_clean_jpeg_and_queues_analysis(
    user_client, user, isolated_media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_upload(user_client, jpeg_with_exif_orientation(6), name="IMG_0001 alice.jpg")
    scan = Scan.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("diagnosis:scan-detail", args=[scan.id])
    assert scan.owner == user and scan.status == Scan.Status.QUEUED
    assert len(callbacks) == 1  # the Celery task is queued only after the commit
    assert "alice" not in scan.first_photo.image.name and "IMG_0001" not in scan.first_photo.image.name
    stored = Image.open(scan.first_photo.image.path)
    assert stored.format == "JPEG"
    assert stored.size == (200, 300)  # EXIF orientation 6 applied: the wide photo is now upright
    assert not stored.getexif()  # orientation, GPS and every other tag dropped
    assert len(media_files(isolated_media)) == 2  # the photo and its thumbnail


def test_png_named_jpg_is_judged_by_content_and_reencoded(user_client):
    response = post_upload(user_client, image_bytes("PNG"), name="photo.jpg")
    assert response.status_code == 302
    assert Image.open(Scan.objects.get().first_photo.image.path).format == "JPEG"


def test_webp_is_accepted(user_client):
    assert post_upload(user_client, image_bytes("WEBP"), name="x.webp", content_type="image/webp").status_code == 302


def truncated_jpeg():
    data = image_bytes("JPEG", size=(640, 480))
    return data[: len(data) // 2]


def oversized_file(settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 50_000
    return image_bytes("PNG", size=(600, 600), color=None) + b"\0" * 60_000


BAD_UPLOADS = {
    "not an image": (lambda s: b"<html><script>alert(1)</script></html>", 415, "not a photo"),
    "text renamed .jpg": (lambda s: b"just some text, not a photo" * 20, 415, "not a photo"),
    "truncated jpeg": (lambda s: truncated_jpeg(), 400, "damaged or incomplete"),
    "zero bytes": (lambda s: b"", 400, "empty"),
    "over the size limit": (oversized_file, 413, "larger than"),
    "decompression bomb": (lambda s: png_bomb_header(), 413, "too many pixels"),
    "gif": (lambda s: image_bytes("GIF"), 415, "not a photo"),
    "tiny image": (lambda s: image_bytes("PNG", size=(10, 10)), 400, "too small"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_is_refused_with_a_message_and_leaves_nothing(case, user_client, settings, isolated_media):
    make, status, message = BAD_UPLOADS[case]
    response = post_upload(user_client, make(settings))
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Scan.objects.exists()
    assert media_files(isolated_media) == []


def test_bad_upload_keeps_existing_scans(user_client):
    post_upload(user_client, image_bytes("JPEG"))
    post_upload(user_client, b"garbage")
    assert Scan.objects.count() == 1
    assert Scan.objects.get().first_photo.image.storage.exists(Scan.objects.get().first_photo.image.name)


def test_anonymous_user_must_log_in(client):
    response = client.get(reverse("diagnosis:upload"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_cmyk_and_alpha_images_become_rgb(user_client):
    for data in (
        image_bytes("JPEG", mode="CMYK", color=(0, 50, 80, 10)),
        image_bytes("PNG", mode="RGBA", color=(9, 9, 9, 0)),
    ):
        assert post_upload(user_client, data).status_code == 302
    for scan in Scan.objects.all():
        assert Image.open(io.BytesIO(scan.first_photo.image.read())).mode == "RGB"


def test_huge_upload_is_refused_from_its_content_length(user_client, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024 * 1024
    response = user_client.post(reverse("diagnosis:upload"), data=b"x" * 10, content_type="multipart/form-data",
                                CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413 and "larger than" in response.content.decode()
    assert not Scan.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_on_commit_callback_keeps_the_stored_scan_and_its_files(user, monkeypatch, caplog):
    """Finding L8 (issue 30): when a callback run at commit raised, the committed scan lost its files (and
    later failed "photo no longer stored")."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from diagnosis import services
    from diagnosis.services import intake
    from tests.support import face_like_jpeg

    def publishing_bug(scan_id):
        raise RuntimeError("a bug while publishing")

    monkeypatch.setattr(intake, "enqueue_analysis", publishing_bug)
    scan, created = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    scan.refresh_from_db()
    assert created and scan.status == "queued"
    photo = scan.first_photo
    assert photo.image.storage.exists(photo.image.name) and photo.thumbnail.storage.exists(photo.thumbnail.name)
