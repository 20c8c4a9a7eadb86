"""/healthz/: what the compose health checks and load balancers ask."""

import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from facediag_site import health
from facediag_site.heartbeat import HEARTBEAT_KEY, record_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    health.clear_pause_cache()
    cache.delete(HEARTBEAT_KEY)
    yield
    cache.delete(HEARTBEAT_KEY)


def test_all_up_answers_200_naming_each_check(client, active_model):
    record_heartbeat()  # what a running worker does every WORKER_HEARTBEAT_SECONDS
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "model": "ok", "worker": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_no_model_answers_503(client):
    record_heartbeat()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "down" and response.json()["down"] == ["model"]


def test_a_worker_never_seen_fails_the_check(client, active_model):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["down"] == ["worker"]
    assert response.json()["checks"]["worker"] == "no analysis worker has reported yet"


def test_a_worker_silent_for_longer_than_the_limit_fails_the_check(client, active_model, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 60
    cache.set(HEARTBEAT_KEY, time.time() - 50, timeout=None)
    assert client.get(reverse("healthz")).status_code == 200
    cache.set(HEARTBEAT_KEY, time.time() - 125, timeout=None)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["down"] == ["worker"]
    assert response.json()["checks"]["worker"] == "no analysis worker has been seen for 125 s"


def test_readiness_leaves_the_worker_out(client, active_model):
    """A web process keeps serving pages while workers are replaced: compose and Kubernetes probe ?ready=1."""
    response = client.get(reverse("healthz") + "?ready=1")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "model": "ok"}


def test_readiness_survives_a_redis_outage_that_the_full_check_reports(client, active_model):
    """Issue 31: with Redis (cache and broker) down the web still serves (limits fail open, uploads are kept for
    the sweeper): its readiness must not take every pod out of the Service at once."""
    from celery import current_app

    from tests.faults.infra import free_port
    from tests.faults.test_broker_outage import point_celery_at

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    original = current_app.conf.broker_write_url
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    point_celery_at(dead)
    try:
        with override_settings(CACHES=caches):
            ready = client.get(reverse("healthz") + "?ready=1")
            full = client.get(reverse("healthz"))
    finally:
        point_celery_at(original)
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "model": "ok"}
    assert full.status_code == 503 and {"cache", "broker"} <= set(full.json()["down"])


def test_health_probe_is_not_redirected_to_https(client, settings, active_model):
    """Behind DJANGO_SECURE every page redirects to https; a redirect would make a probe always pass."""
    record_heartbeat()
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301
    assert client.get(reverse("healthz")).status_code == 200


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_is_seen_and_its_death_is_reported(client, active_model, settings, tmp_path):
    from tests.worker import WorkerProcess, flush_broker

    flush_broker()
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 3
    worker = WorkerProcess(tmp_path / "worker.log", WORKER_HEARTBEAT_SECONDS=1).wait_ready()
    try:
        deadline = time.monotonic() + 10
        while client.get(reverse("healthz")).status_code != 200:
            assert time.monotonic() < deadline, (client.get(reverse("healthz")).json(), worker.log()[-2000:])
            time.sleep(0.2)
        worker.proc.kill()  # SIGKILL: no goodbye, like the crash the outside test saw
        worker.proc.wait()
        deadline = time.monotonic() + 15
        while (response := client.get(reverse("healthz"))).status_code == 200:
            assert time.monotonic() < deadline, "a dead worker still looks healthy"
            time.sleep(0.5)
        assert response.json()["down"] == ["worker"] and "has been seen for" in response.json()["checks"]["worker"]
    finally:
        worker.discard()
