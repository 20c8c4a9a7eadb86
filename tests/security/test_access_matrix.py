"""Every URL pattern in the project, read from the resolver, against anonymous users, other users and
non-reviewers. A new view that is not classified here fails the test, so nothing slips through."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db

PUBLIC = {
    "home", "healthz", "login", "logout", "signup", "signup-done", "password_reset", "password_reset_done",
    "password_reset_confirm", "password_reset_complete", "api:register", "api:token", "api:token-refresh",
    "api:schema", "api:docs", "api:not-found",
    "api:logout",  # authenticated by the refresh token it revokes, like token refresh
    "admin:login", "admin:logout",  # the admin's own sign-in pages
    "reminders:unsubscribe",  # authenticated by its signed token; it can only switch reminders off
    "set_language",  # the language menu: sets a cookie, and a signed-in person's own profile language
    "confirm-email",  # authenticated by its signed single-use token (and the password)
    "sign-in-link",  # the confirmation view under the path of older e-mails' sign-in links
    "service-worker", "offline",  # the installable app's service worker and its offline notice: nothing personal
    "web-manifest",  # the installable app's manifest: names, icons, the same for everyone of a language
    "offline-upload",  # the upload page's anonymous offline stand-in (names nobody, no CSRF token)
    "offline-logout",  # what "Log out" answers offline: anonymous, kept by the service worker
}
SIGNED_IN = {  # any signed-in user, about their own data only
    "profile", "account-delete", "password_change", "password_change_done", "diagnosis:upload",
    "diagnosis:history", "diagnosis:chart-data", "diagnosis:compare", "diagnosis:data-export", "diagnosis:report",
    "reminders:settings",
    "api:scan-list", "api:history-summary", "api:me", "api:me-export",
}
OWNER_ONLY = {  # take another user's scan id: must be 404 for anyone but the owner
    "diagnosis:scan-detail", "diagnosis:scan-status", "diagnosis:scan-note", "diagnosis:scan-retry",
    "diagnosis:scan-delete", "diagnosis:scan-media", "api:scan-detail", "api:scan-retry", "api:scan-image",
    "api:scan-thumbnail", "api:scan-heatmap", "diagnosis:scan-photo-media", "api:scan-photo-media",
}
REVIEWER_ONLY_PREFIX = "review:"
ADMIN_PREFIX = "admin"  # the admin namespace, including its unnamed model routes

REFUSED = {302, 401, 403, 404, 405}


def all_patterns(patterns=None, prefix="", namespace=None):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            yield from all_patterns(p.url_patterns, prefix + str(p.pattern), ns or None)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), ":".join(filter(None, [namespace, p.name or ""]))


def concrete_url(route, scan):
    values = {"scan_id": str(scan.id), "kind": "image", "view": "front", "uidb64": "MQ", "token": "set-password",
              "object_id": str(scan.id), "app_label": "diagnosis", "content_type_id": "1", "url": "x"}
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "x"), route)
    if ".*" in route or "(" in route:
        route = re.sub(r"\^?\.\*\$?", "no-such-endpoint/", route)
    return "/" + route.replace("\\", "").replace("^", "").replace("$", "")


@pytest.fixture
def alice_scan(user):
    return ScanFactory(owner=user)


def every_route():
    return [r for r in all_patterns()]


def test_every_url_is_classified():
    unknown = [
        name for _, name in every_route()
        if name not in PUBLIC | SIGNED_IN | OWNER_ONLY
        and not name.startswith((REVIEWER_ONLY_PREFIX, ADMIN_PREFIX))
    ]
    assert unknown == [], f"classify these views in the access matrix: {unknown}"


def request(client, method, url, **extra):
    return getattr(client, method)(url, **extra)


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_refused_everywhere_but_public_pages(client, alice_scan, method):
    for route, name in every_route():
        if name in PUBLIC:
            continue
        response = request(client, method, concrete_url(route, alice_scan))
        assert response.status_code in REFUSED, (name, method, response.status_code)
        if response.status_code == 302:
            assert "login" in response["Location"], (name, response["Location"])


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_another_user_gets_404_for_the_owners_objects(client, alice_scan, other_user, method):
    client.force_login(other_user)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(other_user).access_token}"}
    for route, name in every_route():
        if name not in OWNER_ONLY:
            continue
        response = request(client, method, concrete_url(route, alice_scan), **bearer)
        assert response.status_code in {404, 405}, (name, method, response.status_code)
    alice_scan.refresh_from_db()  # and nothing of Alice's changed
    assert alice_scan.note == "" and alice_scan.first_photo.image.storage.exists(alice_scan.first_photo.image.name)


@pytest.mark.parametrize("method", ["get", "post"])
def test_non_reviewers_are_refused_every_review_url(client, alice_scan, other_user, method):
    other_user.is_staff = True  # staff alone is not enough: reviewing is a permission
    other_user.save()
    client.force_login(other_user)
    for route, name in every_route():
        if name.startswith(REVIEWER_ONLY_PREFIX):
            response = request(client, method, concrete_url(route, alice_scan))
            assert response.status_code in {403, 404, 405}, (name, method, response.status_code)


def test_non_staff_users_are_refused_the_admin(client, alice_scan, other_user):
    client.force_login(other_user)
    for route, name in every_route():
        if name.startswith(ADMIN_PREFIX) and name not in PUBLIC:
            response = client.get(concrete_url(route, alice_scan))
            assert response.status_code in REFUSED, (name, response.status_code)
            assert response.status_code != 200
