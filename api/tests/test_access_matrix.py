"""User B tries every endpoint against user A's objects: always 404, and nothing of A's changes or leaks."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import make_scan

from .helpers import error_of

pytestmark = pytest.mark.django_db

# (method, url name, body)
SCAN_ENDPOINTS = [
    ("get", "api:scan-detail", None),
    ("patch", "api:scan-detail", {"note": "B was here"}),
    ("delete", "api:scan-detail", None),
    ("post", "api:scan-retry", None),
    ("get", "api:scan-image", None),
    ("get", "api:scan-thumbnail", None),
    ("get", "api:scan-heatmap", None),
]


@pytest.fixture
def alices_scans(user):
    return {
        "done": make_scan(user, status=Scan.Status.DONE, label="acne", heatmap=True, note="A's note"),
        "failed": make_scan(user, status=Scan.Status.FAILED, note="A's note"),
        "queued": make_scan(user, note="A's note"),
    }


def _snapshot(scans):
    return {
        key: (Scan.objects.filter(id=scan.id).values("status", "note", "label").first(),
              list(scan.photos.values("view", "image", "heatmap", "label")))
        for key, scan in scans.items()
    }


@pytest.mark.parametrize("state", ["done", "failed", "queued"])
@pytest.mark.parametrize("method, name, body", SCAN_ENDPOINTS, ids=[f"{m}-{n}" for m, n, _ in SCAN_ENDPOINTS])
def test_other_users_scans_are_404_everywhere(other_client, alices_scans, state, method, name, body):
    before = _snapshot(alices_scans)
    url = reverse(name, kwargs={"scan_id": alices_scans[state].id})
    response = getattr(other_client, method)(url, body, format="json")
    assert response.status_code == 404, (method, url, response.content[:200])
    assert error_of(response)["code"] == "not_found"
    assert str(alices_scans[state].id) not in response.content.decode()
    assert _snapshot(alices_scans) == before  # nothing changed


def test_404_for_others_is_indistinguishable_from_a_missing_id(other_client, alices_scans):
    theirs = other_client.get(reverse("api:scan-detail", kwargs={"scan_id": alices_scans["done"].id}))
    missing = other_client.get(reverse("api:scan-detail", kwargs={"scan_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12}))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_collection_endpoints_never_show_other_users_data(other_client, other_user, alices_scans):
    mine = make_scan(other_user, status=Scan.Status.DONE, label="eczema")
    alice_ids = {str(s.id) for s in alices_scans.values()}

    listing = other_client.get(reverse("api:scan-list")).json()
    assert [s["id"] for s in listing["results"]] == [str(mine.id)]
    for params in ({"label": "acne"}, {"status": "failed"}, {"status": "queued"}):
        assert other_client.get(reverse("api:scan-list"), params).json()["count"] == 0

    summary = other_client.get(reverse("api:history-summary")).json()
    assert [p["scan_id"] for p in summary["points"]] == [str(mine.id)]

    export = other_client.get(reverse("api:me-export"))
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    data = json.loads(archive.read("data.json"))
    assert [s["id"] for s in data["scans"]] == [str(mine.id)]
    assert data["account"]["email"] == "bob@example.com"
    assert not any(scan_id in name for name in archive.namelist() for scan_id in alice_ids)

    me = other_client.get(reverse("api:me")).json()
    assert me["email"] == "bob@example.com"


def test_uploading_with_the_same_idempotency_key_never_returns_another_users_scan(auth_client, other_client):
    from diagnosis.tests.factories import jpeg_upload

    mine = auth_client.post(reverse("api:scan-list"), {"image": jpeg_upload()}, format="multipart",
                            HTTP_IDEMPOTENCY_KEY="k1").json()
    theirs = other_client.post(reverse("api:scan-list"), {"image": jpeg_upload()}, format="multipart",
                               HTTP_IDEMPOTENCY_KEY="k1").json()
    assert mine["id"] != theirs["id"]
    assert Scan.objects.get(id=theirs["id"]).owner.email == "bob@example.com"


def test_other_users_deleting_their_account_leaves_a_alone(other_client, alices_scans):
    from .helpers import PASSWORD

    response = other_client.delete(reverse("api:me"), {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    assert Scan.objects.filter(id__in=[s.id for s in alices_scans.values()]).count() == 3
