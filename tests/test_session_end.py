"""When a session ends, the device forgets what it kept for the person (finding M5 of issue 30): the
service worker had kept the signed-in upload page (with the user id and CSRF token) and the photos waiting
offline after a logout by other means than the button, or an account deletion. The browser side (the
service worker and the offline queue in Chromium) is tests/test_browser_offline_privacy.py."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_logging_out_clears_the_device_unless_the_person_keeps_their_waiting_photos(user_client, client, user):
    response = user_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'  # the waiting photos, the service worker
    client.force_login(user)
    kept = client.post(reverse("logout"), {"waiting": "keep"})  # "Keep them and log out"
    assert kept.status_code == 302 and kept["Clear-Site-Data"] == '"cache"'
    assert "_auth_user_id" not in client.session  # logged out all the same


def test_deleting_the_account_leaves_nothing_on_the_device(user_client, user):
    response = user_client.post(reverse("account-delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'  # offline photos, the worker and its caches


def test_every_page_tells_the_service_worker_who_is_signed_in(client, user_client, user):
    from django.test import Client

    anonymous = Client().get(reverse("login"))
    assert anonymous["FaceDiag-Account"] == "none"
    page = user_client.get(reverse("diagnosis:history"))
    assert page["FaceDiag-Account"] == str(user.pk)
    assert f'data-session="{user.pk}"' in page.content.decode()
    # Not a statement about the session: a redirect, JSON, the anonymous pages kept for offline use.
    assert "FaceDiag-Account" not in user_client.get(reverse("login"))  # redirected to the upload page
    assert "FaceDiag-Account" not in user_client.get(reverse("healthz") + "?live=1")
    assert "FaceDiag-Account" not in user_client.get(reverse("offline"))


@pytest.mark.parametrize("name", ["offline", "offline-upload", "offline-logout"])
def test_the_pages_kept_for_offline_use_hold_nothing_of_the_person(user_client, user, name):
    """The service worker fetches these with the person's cookies and keeps them for whoever comes next."""
    response = user_client.get(reverse(name))
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-user" not in html and "data-session" not in html and "data-offline-stand-in" in html
    assert "csrfmiddlewaretoken" not in html and user.email not in html
    assert 'id="logout-form"' not in html
    assert "Cookie" not in response.get("Vary", "") or response["Cache-Control"] == "no-cache"
    if name == "offline-logout":  # "Log out" offline: the logout is sent once back online, by its script
        assert re.search(r'<form method="post" action="/logout/" id="offline-logout-form"', html)
        assert "offline-logout.js" in html
    if name == "offline-upload":  # the upload form and its checks, for photos kept on the device
        assert re.search(r'<form[^>]*id="upload-form"', html) and "offline-uploads.js" in html
        assert "capture.js" in html and 'id="pending-uploads"' in html


def test_the_service_worker_keeps_no_page_but_the_anonymous_offline_ones(client):
    script = client.get(reverse("service-worker")).content.decode()
    assert "/scans/new/" not in re.search(r"var PRECACHE = (\[.*?\]);", script).group(1)
    assert re.search(r"var OFFLINE_PAGES = (\{.*?\});", script).group(1) == '{"/scans/new/": "/offline/upload/"}'
    assert "cache.put(url.pathname" in script.split("function page(", 1)[0]  # static files only
    assert "cache.put" not in script.split("function page(", 1)[1]  # pages: the network, never kept
