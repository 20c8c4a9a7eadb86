"""Redis (cache and broker) down: every auth and upload endpoint, web and API, still answers without a
5xx, request limits fail open with a logged warning, and an upload is kept (finding 4)."""

import logging
import re

import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from accounts import ratelimit
from diagnosis.models import Scan
from tests.faults.infra import RedisServer
from tests.faults.test_broker_outage import point_celery_at
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a different long passphrase"
OUTAGE_PORT = 6412


@pytest.fixture
def redis_down(settings, monkeypatch):
    """A real Redis serving as cache and broker, as in production; then stopped."""
    from celery import current_app

    server = RedisServer(port=OUTAGE_PORT).start()
    options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": server.url, "OPTIONS": options}}
    cache = RedisCache(server.url, {"OPTIONS": options})
    monkeypatch.setattr(ratelimit, "cache", cache)
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    monkeypatch.setattr(ratelimit, "_last_outage_warning", None)  # the first failure is logged
    original_broker = current_app.conf.broker_url
    point_celery_at(server.url)
    ratelimit.count("probe", "x", 10)
    assert redis.Redis.from_url(server.url).dbsize() == 1  # the limits really use this Redis
    server.stop()
    yield server
    point_celery_at(original_broker)


def multipart_photo():
    return SimpleUploadedFile("face.jpg", face_like_jpeg(), content_type="image/jpeg")


def test_with_redis_down_no_auth_or_upload_endpoint_fails(redis_down, user, caplog):
    statuses = {}

    def record(name, response, expected):
        statuses[name] = response.status_code
        assert response.status_code == expected, (name, response.status_code, response.content[:500])

    with caplog.at_level(logging.WARNING):
        web = Client()
        record("web login page", web.get(reverse("login")), 200)
        record("web login, wrong password", web.post(reverse("login"), {"username": user.email, "password": "x"}), 200)
        record("web login", web.post(reverse("login"), {"username": user.email, "password": PASSWORD}), 302)
        record("web upload", web.post(reverse("diagnosis:upload"), {"image": multipart_photo()}), 302)
        record("web password change", web.post(reverse("password_change"), {
            "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}), 302)
        record("web logout", web.post(reverse("logout")), 302)
        record("web sign-up", web.post(reverse("signup"), {
            "email": "newcomer@example.com", "password1": PASSWORD, "password2": PASSWORD}), 302)
        record("web password reset", web.post(reverse("password_reset"), {"email": user.email}), 302)

        api = Client()
        record("api register", api.post(reverse("api:register"), {"email": "phone@example.com", "password": PASSWORD},
                                        content_type="application/json"), 201)
        record("api token, wrong password", api.post(reverse("api:token"), {"email": user.email, "password": "x"},
                                                     content_type="application/json"), 401)
        tokens = api.post(reverse("api:token"), {"email": user.email, "password": NEW_PASSWORD},
                          content_type="application/json")
        record("api token", tokens, 200)
        refreshed = api.post(reverse("api:token-refresh"), {"refresh": tokens.json()["refresh"]},
                             content_type="application/json")
        record("api refresh", refreshed, 200)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {refreshed.json()['access']}"}
        record("api upload", api.post(reverse("api:scan-list"), {"image": multipart_photo()}, **bearer), 202)
        record("api logout", api.post(reverse("api:logout"), {"refresh": refreshed.json()["refresh"]},
                                      content_type="application/json"), 204)

    assert all(status < 500 for status in statuses.values()), statuses
    scans = list(Scan.objects.filter(owner=user))
    assert len(scans) == 2  # one web, one API upload: both kept, waiting for the sweeper to queue them
    for scan in scans:
        assert scan.status == "queued" and scan.first_photo.image.storage.exists(scan.first_photo.image.name)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(re.search(r"cache unavailable \(\w+\): request limits are not enforced", m) for m in warnings)
