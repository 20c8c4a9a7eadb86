"""Media on S3-compatible object storage: the real flow against a local S3 server started here."""

import io
import json
import urllib.error
import urllib.request
import zipfile

import environ
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnosis import services
from diagnosis.models import Scan
from facediag_site.media_storage import default_storage_config
from tests.s3 import BUCKET, LocalS3
from tests.support import face_like_jpeg, media_files, wait_for_status

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture
def s3(settings, monkeypatch):
    server = LocalS3()
    settings.STORAGES = server.storages_setting(monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def s3_worker(s3, transactional_db, active_model, tmp_path):
    """A real worker process whose settings point at the same bucket (FACEDIAG_S3_* in its environment)."""
    from tests.worker import WorkerProcess, flush_broker

    flush_broker()
    worker = WorkerProcess(tmp_path / "worker.log").wait_ready()
    yield worker
    worker.discard()


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_default_media_storage_is_the_local_filesystem(monkeypatch):
    for name in ("FACEDIAG_S3_BUCKET", "FACEDIAG_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert default_storage_config(environ.Env()) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_s3_settings_keep_the_bucket_private(monkeypatch):
    monkeypatch.setenv("FACEDIAG_S3_BUCKET", "media")
    monkeypatch.setenv("FACEDIAG_S3_ENDPOINT_URL", "http://minio:9000")
    config = default_storage_config(environ.Env())
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["querystring_expire"] <= 300 and "custom_domain" not in options
    assert options["addressing_style"] == "path" and options["file_overwrite"] is False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_upload_analyse_view_export_and_delete_on_object_storage(
    client, user, other_user, s3, s3_worker, isolated_media
):
    client.force_login(user)
    response = client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())})
    assert response.status_code == 302
    scan = Scan.objects.get()
    assert {scan.first_photo.image.name, scan.first_photo.thumbnail.name} <= set(s3.keys())
    assert media_files(isolated_media) == []  # nothing on the web process's disk

    scan = wait_for_status(scan.id, {"done", "failed"}, timeout=120)  # the worker read the photo by key
    assert scan.status == "done", scan.error + s3_worker.log()[-3000:]
    judged = scan.label in ("acne", "eczema", "healthy", "rosacea")  # only those get a heatmap
    assert not judged or scan.first_photo.heatmap.name in s3.keys()

    for kind in ("image", "thumbnail", "heatmap") if judged else ("image", "thumbnail"):
        response = client.get(reverse("diagnosis:scan-media", args=[scan.id, kind]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert body(response) == s3.read(getattr(scan.first_photo, kind).name)
        assert "private" in response["Cache-Control"]
    assert "Location" not in response  # streamed by the access-checked view, not a redirect to the bucket

    client.force_login(other_user)
    assert client.get(reverse("diagnosis:scan-media", args=[scan.id, "image"])).status_code == 404
    client.force_login(user)

    # The objects are private: no public grant, and an unsigned request is refused by the server.
    grants = s3.client.get_object_acl(Bucket=BUCKET, Key=scan.first_photo.image.name)["Grants"]
    assert all(g["Grantee"].get("URI") != ALL_USERS for g in grants)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3.endpoint_url}/{BUCKET}/{scan.first_photo.image.name}", timeout=10)
    assert refused.value.code == 403
    # A URL from the storage, should code ever ask for one, is signed and expires within a minute.
    assert "X-Amz-Expires=60" in default_storage.url(scan.first_photo.image.name)

    export = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("diagnosis:data-export")))))
    assert json.loads(export.read("data.json"))["scans"][0]["id"] == str(scan.id)
    assert export.read(f"images/{scan.id}-front.jpg") == s3.read(scan.first_photo.image.name)

    photo = scan.first_photo
    before_delete = s3.keys()
    response = client.post(reverse("diagnosis:scan-delete", args=[scan.id]))
    assert response.status_code == 302
    assert not Scan.objects.exists()
    assert before_delete == sorted(n for n in (photo.image.name, photo.thumbnail.name, photo.heatmap.name) if n)
    assert s3.keys() == []  # photo, thumbnail and heatmap objects are gone


@pytest.mark.django_db
def test_a_missing_object_is_a_404_and_fails_analysis_with_a_reason(user_client, user, s3, active_model):
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    s3.client.delete_object(Bucket=BUCKET, Key=scan.first_photo.image.name)
    assert user_client.get(reverse("diagnosis:scan-media", args=[scan.id, "image"])).status_code == 404
    assert services.analyse_scan(scan.id) == "failed"
    scan.refresh_from_db()
    assert "no longer stored" in scan.error


@pytest.mark.django_db
def test_an_unreachable_object_store_is_a_503_and_a_transient_analysis_error(user_client, user, s3, active_model):
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    s3.stop()  # the store goes away after the upload

    response = user_client.get(reverse("diagnosis:scan-media", args=[scan.id, "image"]))
    assert response.status_code == 503 and response["Retry-After"]
    with pytest.raises(services.TransientAnalysisError):
        services.analyse_scan(scan.id)
    scan.refresh_from_db()
    assert (scan.status, scan.attempts) == (Scan.Status.QUEUED, 0)  # released, not counted as a crash


@pytest.mark.django_db(transaction=True)  # object deletion runs on commit
def test_retention_and_account_deletion_remove_the_objects(user, other_user, s3):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import delete_account

    old, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    Scan.objects.filter(id=old.id).update(status=Scan.Status.DONE, created_at=timezone.now() - timedelta(days=40))
    kept, _ = services.create_scan(owner=other_user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))

    assert services.purge_expired_images(days=30) == 1
    old.refresh_from_db()
    assert old.image_deleted_at and not old.first_photo.image and old.status == Scan.Status.DONE  # the result stays
    assert s3.keys() == sorted([kept.first_photo.image.name, kept.first_photo.thumbnail.name])

    delete_account(other_user)
    assert s3.keys() == []


@pytest.mark.django_db
def test_reviewed_export_reads_the_photos_from_the_bucket(user, other_user, s3, tmp_path):
    from review.models import Review
    from review.services import export_reviewed

    user.consent_training = True
    user.save(update_fields=["consent_training"])
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    Scan.objects.filter(id=scan.id).update(status=Scan.Status.DONE, label="acne")
    Review.objects.create(scan=scan, reviewer=other_user, label="acne", model_label="acne")

    result = export_reviewed(tmp_path / "export")

    assert result.written == 1 and result.skipped == 0
    (photo,) = (tmp_path / "export" / "acne").glob("*.jpg")
    assert photo.read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.django_db
def test_the_admin_links_photos_through_the_audited_view_not_signed_bucket_urls(client, user, s3, django_user_model):
    admin = django_user_model.objects.create_superuser(email="admin@example.com", password="correct horse battery")
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    Scan.objects.filter(id=scan.id).update(status=Scan.Status.DONE, label="acne")  # media open once done
    client.force_login(admin)

    page = client.get(reverse("admin:diagnosis_scan_change", args=[scan.id])).content.decode()

    assert "X-Amz-Signature" not in page and s3.endpoint_url not in page
    assert reverse("diagnosis:scan-photo-media", args=[scan.id, "front", "image"]) in page  # the audited view
