"""Helpers shared by the API tests (scans come from diagnosis.tests.factories)."""

from django.urls import reverse

from accounts.tests.factories import PASSWORD

__all__ = ["PASSWORD", "obtain_tokens", "error_of"]


def obtain_tokens(client, email, password=PASSWORD):
    response = client.post(reverse("api:token"), {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def error_of(response):
    """The `error` object of an error response, checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]
