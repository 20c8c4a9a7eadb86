import io
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from diagnosis import services
from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from facediag_site.logging import RedactPersonalData
from tests.support import face_like_jpeg, media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """The production console handler's filters, on a handler whose output the test can read."""
    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPersonalData())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_logs_carry_scan_ids_but_no_emails_or_tokens(client, user, active_model, log_output):
    client.post(reverse("login"), {"username": user.email, "password": "wrong"})
    token = client.post("/api/v1/auth/token/", {"email": user.email, "password": "correct horse battery"},
                        content_type="application/json").json()["access"]
    logging.getLogger("test").info("request with Authorization: Bearer %s for %s", token, user.email)
    scan, _ = services.create_scan(owner=user, uploaded_file=SimpleUploadedFile("f.jpg", face_like_jpeg()))
    services.analyse_scan(scan.id)
    text = log_output.getvalue()
    assert str(scan.id) in text
    assert user.email not in text and "example.com" not in text
    assert token not in text and token.split(".")[1] not in text


def test_retention_deletes_old_photos_and_keeps_results(user_client, user, isolated_media, settings):
    old = ScanFactory(owner=user)
    new = ScanFactory(owner=user)
    Scan.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=40))
    settings.SCAN_IMAGE_RETENTION_DAYS = 30
    assert services.purge_expired_images() == 1
    old.refresh_from_db()
    assert not old.first_photo.image and old.image_deleted_at and old.label == "acne" and old.probabilities
    assert len(media_files(isolated_media)) == 2  # only the new scan's photo and thumbnail
    page = user_client.get(reverse("diagnosis:scan-detail", args=[old.id])).content.decode()
    assert "retention" in page and "Acne" in page
    assert user_client.get(reverse("diagnosis:scan-media", args=[old.id, "image"])).status_code == 404
    assert new.first_photo.image.storage.exists(new.first_photo.image.name)


def test_retention_is_off_by_default(user, settings):
    ScanFactory(owner=user)
    Scan.objects.update(created_at=timezone.now() - timedelta(days=4000))
    assert settings.SCAN_IMAGE_RETENTION_DAYS == 0
    assert services.purge_expired_images() == 0
