"""When a session ends, the device forgets what it kept for the person (finding M5 of issue 30): the
service worker had kept the signed-in upload page (with the user id and CSRF token) after a logout by other
means than the button, or an account deletion."""

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_logging_out_tells_the_browser_to_drop_its_cached_pages(user_client):
    response = user_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache"'


def test_deleting_the_account_leaves_nothing_on_the_device(user_client, user):
    response = user_client.post(reverse("account-delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'  # kept pages, offline photos, the worker


def test_the_service_worker_forgets_the_kept_page_once_the_session_has_ended(client):
    """Online, an upload page that answers with a redirect to the login (cookies cleared, session expired,
    account deleted elsewhere) means the session has ended: the kept copy goes."""
    script = client.get(reverse("service-worker")).content.decode()
    kept_copy_dropped = script.split("function page(", 1)[1]
    assert "caches.delete(PAGES)" in kept_copy_dropped and "response.redirected" in kept_copy_dropped
