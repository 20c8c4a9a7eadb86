"""Authenticated pages and the data export are never stored by caches (finding 10)."""

import pytest
from django.test import Client
from django.urls import reverse

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


def test_the_owners_photos_keep_their_own_short_private_caching(user_client, user):
    scan = ScanFactory(owner=user)
    response = user_client.get(reverse("diagnosis:scan-media", args=[scan.id, "image"]))
    assert response["Cache-Control"] == "private, max-age=3600"


def test_api_responses_for_a_token_are_private_and_not_stored(user):
    client = Client()
    access = client.post(reverse("api:token"), {"email": user.email, "password": "correct horse battery"},
                         content_type="application/json").json()["access"]
    assert_private_no_store(client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {access}"))
