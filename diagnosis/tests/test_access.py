"""A user only ever reaches their own scans and files: everyone else gets 404."""

import pytest
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_scan(user):
    return ScanFactory(owner=user)


OWNER_ONLY_GETS = [
    ("diagnosis:scan-detail", {}),
    ("diagnosis:scan-status", {}),
    ("diagnosis:scan-delete", {}),
    ("diagnosis:scan-media", {"kind": "image"}),
    ("diagnosis:scan-media", {"kind": "thumbnail"}),
]


@pytest.mark.parametrize(("name", "extra"), OWNER_ONLY_GETS)
def test_other_users_get_404(client, other_user, alices_scan, name, extra):
    client.force_login(other_user)
    assert client.get(reverse(name, kwargs={"scan_id": alices_scan.id, **extra})).status_code == 404


@pytest.mark.parametrize("name", ["diagnosis:scan-delete", "diagnosis:scan-note", "diagnosis:scan-retry"])
def test_other_users_cannot_change_a_scan(client, other_user, alices_scan, name):
    client.force_login(other_user)
    assert client.post(reverse(name, args=[alices_scan.id]), {"note": "mine now"}).status_code == 404
    alices_scan.refresh_from_db()
    assert alices_scan.note == "" and alices_scan.first_photo.image.storage.exists(alices_scan.first_photo.image.name)


def test_compare_with_someone_elses_scan_is_404(client, user, other_user, alices_scan):
    bobs = ScanFactory(owner=other_user)
    client.force_login(other_user)
    url = reverse("diagnosis:compare") + f"?scan={bobs.id}&scan={alices_scan.id}"
    assert client.get(url).status_code == 404


def test_owner_sees_the_image(user_client, alices_scan):
    response = user_client.get(reverse("diagnosis:scan-media", args=[alices_scan.id, "image"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]


def test_anonymous_gets_a_login_redirect_for_media(client, alices_scan):
    response = client.get(reverse("diagnosis:scan-media", args=[alices_scan.id, "image"]))
    assert response.status_code == 302


def test_unknown_media_kind_is_404(user_client, alices_scan):
    assert user_client.get(f"/media/scans/{alices_scan.id}/secret.jpg").status_code == 404


def test_there_is_no_public_media_url(client, alices_scan):
    assert client.get("/media/" + alices_scan.first_photo.image.name).status_code == 404
    assert client.get("/private-media/" + alices_scan.first_photo.image.name).status_code == 404


def test_history_lists_only_own_scans(user_client, user, other_user):
    mine = ScanFactory(owner=user)
    ScanFactory(owner=other_user)
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert str(mine.id) in html
    assert Scan.objects.count() == 2 and html.count("/media/scans/") == 1
