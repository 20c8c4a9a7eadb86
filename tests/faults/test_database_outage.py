"""PostgreSQL unreachable: 503 with a plain page (JSON for the API), no traceback, and recovery by itself."""

import pytest
from django.db import connections
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from tests.faults.infra import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db_through_proxy():
    connection = connections["default"]
    original_port = connection.settings_dict["PORT"]
    proxy = TcpProxy(int(original_port or 5432)).start()
    connection.close()
    connection.settings_dict["PORT"] = str(proxy.port)
    yield proxy
    proxy.stop()
    connection.close()
    connection.settings_dict["PORT"] = original_port


def test_site_answers_503_while_the_database_is_gone_then_recovers(client, user, db_through_proxy):
    client.force_login(user)
    token = str(RefreshToken.for_user(user).access_token)
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(reverse("diagnosis:history")).status_code == 200

    db_through_proxy.stop()  # PostgreSQL becomes unreachable
    page = client.get(reverse("diagnosis:history"))
    assert page.status_code == 503
    assert "temporarily unavailable" in page.content.decode().lower()
    assert "Traceback" not in page.content.decode()
    assert page["Retry-After"] == "30"
    api_response = client.get("/api/v1/scans/", **api)
    assert api_response.status_code == 503
    assert api_response.json()["error"]["code"] == "service_unavailable"
    assert client.get(reverse("healthz")).status_code == 503

    TcpProxy(db_through_proxy.target_port, port=db_through_proxy.port).start()  # the database is back
    assert client.get(reverse("diagnosis:history")).status_code == 200
    assert client.get("/api/v1/scans/", **api).status_code == 200
    assert client.get(reverse("healthz")).json()["checks"]["database"] == "ok"
