"""Throttles use the rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (uploads: SCAN_UPLOAD_RATE), read
per request (api.throttles), so overriding the setting here is enough; the autouse fixture in conftest
clears the counters."""

import pytest
from django.urls import reverse

from diagnosis.tests.factories import jpeg_upload

from .helpers import PASSWORD, error_of, obtain_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**scopes):
        if "uploads" in scopes:  # one upload policy for web and API (diagnosis.rate_limits)
            settings.SCAN_UPLOAD_RATE = scopes.pop("uploads")
        base = dict(settings.REST_FRAMEWORK)
        base["DEFAULT_THROTTLE_RATES"] = {**base["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = base

    return set_rates


def assert_throttled(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert error_of(response)["code"] == "throttled"


def upload(client):
    return client.post(reverse("api:scan-list"), {"image": jpeg_upload()}, format="multipart")


def test_uploads_are_throttled_per_user(rates, auth_client, other_client):
    rates(uploads="2/hour")
    assert upload(auth_client).status_code == 202
    assert upload(auth_client).status_code == 202
    assert_throttled(upload(auth_client))
    assert upload(other_client).status_code == 202  # per user, not global
    # reads are not counted
    assert auth_client.get(reverse("api:scan-list")).status_code == 200


def test_upload_rate_follows_the_setting(rates, auth_client):
    rates(uploads="1/minute")
    assert upload(auth_client).status_code == 202
    assert_throttled(upload(auth_client))


def test_token_requests_are_throttled_per_ip(rates, api_client, user):
    rates(auth="3/minute")
    obtain_tokens(api_client, user.email)
    bad = {"email": user.email, "password": "wrong"}
    assert api_client.post(reverse("api:token"), bad, format="json").status_code == 401
    assert api_client.post(reverse("api:token-refresh"), {"refresh": "x"}, format="json").status_code == 401
    assert_throttled(api_client.post(reverse("api:token"), {"email": user.email, "password": PASSWORD},
                                     format="json"))
    assert_throttled(api_client.post(reverse("api:logout"), {"refresh": "x"}, format="json"))
    other_ip = api_client.post(reverse("api:token"), {"email": user.email, "password": PASSWORD},
                               format="json", REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200


def test_registration_is_throttled_per_ip(rates, api_client):
    rates(register="2/hour")
    for n in range(2):
        body = {"email": f"user{n}@example.com", "password": PASSWORD}
        assert api_client.post(reverse("api:register"), body, format="json").status_code == 201
    assert_throttled(api_client.post(reverse("api:register"), {"email": "x@example.com", "password": PASSWORD},
                                     format="json"))
    other_ip = api_client.post(reverse("api:register"), {"email": "y@example.com", "password": PASSWORD},
                               format="json", REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 201


def test_authenticated_reads_are_not_throttled(rates, auth_client):
    rates(uploads="1/hour", auth="1/hour", register="1/hour")
    for _ in range(5):
        assert auth_client.get(reverse("api:me")).status_code == 200
