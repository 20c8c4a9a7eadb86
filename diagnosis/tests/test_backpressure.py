"""Backpressure on the web upload: a friendly "busy" page (503, Retry-After) before anything is stored; the
hourly quota counts only accepted photos."""

import pytest
from django.urls import reverse

from diagnosis import backpressure
from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory, jpeg_upload
from tests.support import media_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_load_reading():
    backpressure.clear_cache()
    yield
    backpressure.clear_cache()


def test_a_busy_service_shows_a_friendly_page_and_stores_nothing(settings, user_client, user, isolated_media):
    settings.SCAN_BACKLOG_LIMIT_SECONDS, settings.SCAN_ANALYSIS_RATE = 5, 1.0
    for _ in range(6):
        ScanFactory(status=Scan.Status.QUEUED, label="", image="", thumbnail="")

    response = user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload(), "note": "x"})

    assert response.status_code == 503
    assert 5 <= int(response["Retry-After"]) <= 120
    page = response.content.decode()
    assert "busy right now" in page and "try again in a minute" in page.lower()
    assert "Nothing was uploaded or stored" in page
    assert 'href="/scans/new/"' in page  # a way back
    assert not Scan.objects.filter(owner=user).exists() and media_files(isolated_media) == []


def test_the_busy_page_speaks_spanish(settings, user_client):
    settings.SCAN_BACKLOG_LIMIT_SECONDS, settings.SCAN_ANALYSIS_RATE = 5, 1.0
    for _ in range(6):
        ScanFactory(status=Scan.Status.QUEUED, label="", image="", thumbnail="")
    response = user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload()}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 503 and "FaceDiag está" in response.content.decode()


def test_rejected_photos_do_not_use_up_the_hourly_quota_on_the_web(settings, user_client):
    """Regression: a rejected file counted as one of the hour's uploads."""
    settings.SCAN_UPLOAD_RATE = "1/hour"
    for _ in range(3):
        bad = user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload(b"not an image")})
        assert bad.status_code in (400, 415)
    assert user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload()}).status_code == 302
    assert user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload()}).status_code == 429


def test_a_burst_within_one_reading_does_not_overshoot_the_limit(settings, user_client, monkeypatch):
    """Finding L6 (issue 30): a reading was reused for 1 s, so a burst was accepted against an old backlog
    (60 accepted against a limit of 40). Here the clock stands still: the whole burst falls in one reading."""
    settings.SCAN_BACKLOG_LIMIT_SECONDS, settings.SCAN_ANALYSIS_RATE, settings.SCAN_UPLOAD_RATE = 6, 1.0, "100/hour"
    monkeypatch.setattr(backpressure.time, "monotonic", lambda: 1000.0)
    statuses = [user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload()}).status_code
                for _ in range(10)]
    assert statuses.count(302) == 7 and statuses[7:] == [503, 503, 503]  # as if measured at every upload
    assert Scan.objects.count() == 7
