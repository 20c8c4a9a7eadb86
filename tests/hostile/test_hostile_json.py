"""JSON of odd types and sizes at the API's public endpoints: never a 500; an error is a 4xx in the one
error shape. (Found by bench/schemathesis_long.py: a number as `email` at /auth/token/ was a 500.)
DRF coerces numbers to strings for CharFields, so a 2xx is fine (e.g. a numeric password)."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ODD_VALUES = [12345, -1.4539800562076692e16, 0.5, True, False, None, [], ["a@example.com"], {}, {"a": 1}, "",
              "a" * 10_000, "\x00", "alice@example.com\x00"]
ENDPOINTS = {
    "/api/v1/auth/token/": ("email", "password"),
    "/api/v1/auth/register/": ("email", "password"),
    "/api/v1/auth/token/refresh/": ("refresh",),
    "/api/v1/auth/logout/": ("refresh",),
}
VALID = {"email": "alice@example.com", "password": "correct horse battery", "refresh": "x"}


@pytest.fixture(autouse=True)
def generous_rates(settings):
    rates = {"uploads": "100000/hour", "auth": "100000/hour", "register": "100000/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    settings.SCAN_UPLOAD_RATE = rates["uploads"]
    settings.AUTH_RATE_LIMIT_PER_IP = settings.AUTH_RATE_LIMIT_PER_ACCOUNT = 1_000_000
    cache.clear()


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: repr(v)[:24])
def test_odd_json_types_are_4xx(user, path, value):
    client = APIClient()
    for field in ENDPOINTS[path]:
        body = {**{f: VALID[f] for f in ENDPOINTS[path]}, field: value}
        response = client.post(path, body, format="json")
        assert response.status_code < 500, (field, value, response.status_code, response.content[:300])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] and error["message"]


@pytest.mark.parametrize("username", ["a" * 300 + "@example.com", "a" * 10_000, "\x00"])
def test_web_login_with_odd_usernames_is_not_a_500(client, user, username):
    response = client.post(reverse("login"), {"username": username, "password": "x"})
    assert response.status_code < 500
