"""One upload limit for web and API (finding 3); client addresses and trusted proxies (finding 8)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from diagnosis.models import Scan
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def web_upload(client):
    return client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())})


def api_client_for(email):
    client = APIClient()
    access = client.post(reverse("api:token"), {"email": email, "password": PASSWORD}, format="json").json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def api_upload(client):
    return client.post(reverse("api:scan-list"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())},
                       format="multipart")


def test_web_uploads_are_rate_limited_per_user(settings, user_client, user, other_user, client):
    settings.SCAN_UPLOAD_RATE = "3/hour"
    assert [web_upload(user_client).status_code for _ in range(3)] == [302, 302, 302]
    refused = web_upload(user_client)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Try again in about" in refused.content.decode()
    assert Scan.objects.filter(owner=user).count() == 3  # the refused upload stored nothing
    client.force_login(other_user)
    assert web_upload(client).status_code == 302  # per user, not global


def test_web_and_api_uploads_share_one_counter(settings, user_client, user):
    settings.SCAN_UPLOAD_RATE = "2/hour"
    api = api_client_for(user.email)
    assert web_upload(user_client).status_code == 302
    assert api_upload(api).status_code == 202
    assert web_upload(user_client).status_code == 429
    throttled = api_upload(api)
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert Scan.objects.filter(owner=user).count() == 2


def token_attempt(client, user, forwarded_for):
    return client.post(reverse("api:token"), {"email": user.email, "password": "wrong"}, format="json",
                       HTTP_X_FORWARDED_FOR=forwarded_for)


def test_x_forwarded_for_is_ignored_without_trusted_proxies(settings, user):
    assert settings.NUM_PROXIES == 0  # off by default
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "auth": "3/minute"}}
    client = APIClient()
    statuses = [token_attempt(client, user, f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429  # a new forged address each time did not reset the per-IP count


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings, user):
    settings.NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "auth": "2/minute"}}
    client = APIClient()
    # The proxy appends the address it saw; anything to its left was sent by the client and is ignored.
    assert token_attempt(client, user, "6.6.6.6, 203.0.113.5").status_code == 401
    assert token_attempt(client, user, "7.7.7.7, 203.0.113.5").status_code == 401
    assert token_attempt(client, user, "8.8.8.8, 203.0.113.5").status_code == 429
    assert token_attempt(client, user, "203.0.113.5, 203.0.113.6").status_code == 401  # another client


def test_client_ip_reads_forwarded_addresses_from_the_right(rf, settings):
    from accounts.ratelimit import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 3.3.3.3")
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.0.0.1"
    settings.NUM_PROXIES = 2
    assert client_ip(request) == "2.2.2.2"
    settings.NUM_PROXIES = 5
    assert client_ip(request) == "1.1.1.1"
