"""Authenticated pages and the data export are never stored by caches (finding 10)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


def assert_private_no_store(response):
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, (response.request["PATH_INFO"], response.get("Cache-Control"))


def test_every_page_of_a_logged_in_person_is_private_and_not_stored(user_client, user):
    scan = ScanFactory(owner=user)
    for name, args in [("diagnosis:upload", []), ("diagnosis:history", []), ("diagnosis:scan-detail", [scan.id]),
                       ("diagnosis:chart-data", []), ("profile", []), ("password_change", []),
                       ("account-delete", []), ("diagnosis:scan-delete",
                                                [scan.id])]:
        response = user_client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert_private_no_store(response)


def test_the_web_data_export_is_private_and_not_stored(user_client, user):
    ScanFactory(owner=user)
    response = user_client.get(reverse("diagnosis:data-export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert_private_no_store(response)


def test_reviewer_pages_are_private_too(client, other_user, user):
    from review.services import ensure_reviewer_group

    other_user.groups.add(ensure_reviewer_group()[0])
    client.force_login(other_user)
    for name in ("review:queue", "review:dashboard"):
        assert_private_no_store(client.get(reverse(name)))


#: Every route that serves a scan's file (a face photo, its thumbnail or heatmap), web and API, with the URL
#: arguments after the scan's id: the front photo's routes, then those of each photo of a multi-photo scan.
MEDIA_ROUTES = [("diagnosis:scan-media", [kind]) for kind in ("image", "thumbnail", "heatmap")] + [
    ("api:scan-image", []), ("api:scan-thumbnail", []), ("api:scan-heatmap", [])] + [
    (name, [view, kind]) for name in ("diagnosis:scan-photo-media", "api:scan-photo-media")
    for view, kind in (("front", "heatmap"), ("left", "image"), ("left", "thumbnail"))]


def test_every_media_route_is_listed_here():
    from tests.security.test_access_matrix import every_route

    served = {name for _route, name in every_route() if "media" in name or name.startswith(
        ("api:scan-image", "api:scan-thumbnail", "api:scan-heatmap"))}
    assert served == {name for name, _args in MEDIA_ROUTES}


def assert_no_max_age(response):
    directives = {d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")}
    assert response.status_code == 200, response.status_code
    assert "max-age" not in directives and "s-maxage" not in directives, response.get("Cache-Control")
    assert not response.has_header("Expires") and not response.has_header("Last-Modified")
    assert_private_no_store(response)


def test_face_photos_are_never_kept_in_a_cache_for_the_owner_or_a_reviewer(client, user, other_user):
    """Finding L1 (round three): photos were "private, max-age=3600", so they stayed in the browser's cache
    after logout on a shared device. No private file may carry a max-age, for anyone, web or API."""
    from django.core.files.base import ContentFile

    from diagnosis.tests.factories import make_multi_photo_scan
    from review.services import ensure_reviewer_group
    from tests.support import face_like_jpeg

    scan = make_multi_photo_scan(user, views=("left",), status=Scan.Status.DONE)
    scan.first_photo.heatmap.save("heatmap.jpg", ContentFile(face_like_jpeg()))
    other_user.groups.add(ensure_reviewer_group()[0])
    for person in (user, other_user):
        client.force_login(person)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(person).access_token}"}
        for name, args in MEDIA_ROUTES:
            api = name.startswith("api:")
            assert_no_max_age(client.get(reverse(name, args=[scan.id, *args]), **(bearer if api else {})))


def test_api_responses_for_a_token_are_private_and_not_stored(user):
    client = Client()
    access = client.post(reverse("api:token"), {"email": user.email, "password": "correct horse battery"},
                         content_type="application/json").json()["access"]
    assert_private_no_store(client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {access}"))
