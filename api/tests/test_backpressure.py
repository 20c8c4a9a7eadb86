"""Backpressure on the API: above SCAN_BACKLOG_LIMIT_SECONDS of waiting work an upload is a clean 503 with
Retry-After, before anything is stored or counted; the hourly quota counts only accepted photos."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnosis import backpressure
from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory, jpeg_upload
from tests.support import media_files

from .helpers import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_load_reading():
    backpressure.clear_cache()
    yield
    backpressure.clear_cache()


@pytest.fixture
def limits(settings):
    """Refuse above 10 s of work at a floor of 1 scan/s: more than 10 scans waiting is busy."""
    settings.SCAN_BACKLOG_LIMIT_SECONDS = 10
    settings.SCAN_ANALYSIS_RATE = 1.0
    settings.SCAN_RATE_WINDOW_SECONDS = 30
    return settings


def waiting(n, status=Scan.Status.QUEUED):
    for _ in range(n):
        ScanFactory(status=status, label="", image="", thumbnail="")


def upload(client, **extra):
    return client.post(reverse("api:scan-list"), {"image": jpeg_upload()}, format="multipart", **extra)


def test_an_upload_above_the_backlog_limit_is_a_clean_503_and_stores_nothing(limits, auth_client, user,
                                                                            isolated_media):
    waiting(8)
    waiting(3, Scan.Status.ANALYSING)  # 11 scans = 11 s of work at 1 scan/s: over the 10 s limit
    before = Scan.objects.count()

    response = upload(auth_client)

    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "busy" and "try again" in error["message"].lower()
    assert 5 <= int(response["Retry-After"]) <= 120
    assert Scan.objects.count() == before and not Scan.objects.filter(owner=user).exists()
    assert media_files(isolated_media) == []  # the factories' scans have no files: nothing was written


def test_at_the_limit_uploads_are_accepted(limits, auth_client):
    waiting(10)  # exactly 10 s of work
    assert upload(auth_client).status_code == 202


def test_the_limit_grows_with_the_measured_rate(limits, auth_client):
    waiting(15)  # 15 s at the 1 scan/s floor ...
    now = timezone.now()
    for i in range(60):  # ... but the workers finished 60 scans in the last 30 s: 2 scans/s, 7.5 s of work
        ScanFactory(completed_at=now - timedelta(seconds=i % 25), image="", thumbnail="")
    assert backpressure.measure_load().rate == pytest.approx(2.0)
    assert upload(auth_client).status_code == 202


def test_scans_finished_before_the_window_do_not_count(limits):
    waiting(15)
    ScanFactory.create_batch(60, completed_at=timezone.now() - timedelta(minutes=5), image="", thumbnail="")
    load = backpressure.measure_load()
    assert load.rate == 1.0 and load.busy


def test_zero_turns_backpressure_off(limits, auth_client):
    limits.SCAN_BACKLOG_LIMIT_SECONDS = 0
    waiting(50)
    assert upload(auth_client).status_code == 202


def test_a_busy_refusal_does_not_use_up_the_quota(limits, auth_client):
    limits.SCAN_UPLOAD_RATE = "1/hour"
    waiting(11)
    for _ in range(3):
        assert upload(auth_client).status_code == 503
    Scan.objects.filter(status=Scan.Status.QUEUED).update(status=Scan.Status.DONE)
    backpressure.clear_cache()
    assert upload(auth_client).status_code == 202  # the hour's one photo was still free


def test_rejected_photos_do_not_use_up_the_hourly_quota(settings, auth_client):
    """Regression: 30 corrupt or invalid files used to use up the hour (the quota counted attempts)."""
    settings.SCAN_UPLOAD_RATE = "2/hour"
    for _ in range(3):
        bad = auth_client.post(reverse("api:scan-list"), {"image": jpeg_upload(b"not an image")}, format="multipart")
        assert bad.status_code in (400, 415)
    assert auth_client.post(reverse("api:scan-list"), {}, format="multipart").status_code == 400  # no file
    assert upload(auth_client).status_code == 202
    assert upload(auth_client).status_code == 202
    assert upload(auth_client).status_code == 429  # two accepted photos: the hour's quota is used


def test_a_replayed_upload_does_not_use_up_the_quota(settings, auth_client):
    settings.SCAN_UPLOAD_RATE = "2/hour"
    for _ in range(3):
        assert upload(auth_client, HTTP_IDEMPOTENCY_KEY="same-photo").status_code == 202
    assert upload(auth_client).status_code == 202
    assert upload(auth_client).status_code == 429
