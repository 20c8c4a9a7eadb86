"""/healthz/: what the compose health checks and load balancers ask."""

import pytest
from django.urls import reverse

from facediag_site import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    health.clear_pause_cache()


def test_all_up_answers_200_naming_each_check(client, active_model):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "model": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_no_model_answers_503(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "down" and response.json()["down"] == ["model"]


def test_health_probe_is_not_redirected_to_https(client, settings, active_model):
    """Behind DJANGO_SECURE every page redirects to https; a redirect would make a probe always pass."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301
    assert client.get(reverse("healthz")).status_code == 200
