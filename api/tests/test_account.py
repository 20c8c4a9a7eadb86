import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import make_scan
from tests.support import media_files

from .helpers import PASSWORD, error_of, obtain_tokens

pytestmark = pytest.mark.django_db

ME = reverse("api:me")
EXPORT = reverse("api:me-export")


def test_me_returns_the_profile(auth_client, user):
    body = auth_client.get(ME).json()
    assert body == {
        "email": "alice@example.com",
        "display_name": "",
        "consent_training": False,
        "consent_updated_at": None,
        "language": "",
        "date_joined": body["date_joined"],
    }


def test_the_profile_language_is_set_through_the_api_and_wins_over_accept_language(auth_client, user):
    response = auth_client.patch(ME, {"language": "es"}, format="json")
    assert response.status_code == 200 and response.json()["language"] == "es"
    user.refresh_from_db()
    assert user.language == "es"
    missing = auth_client.get("/api/v1/scans/not-a-uuid/", HTTP_ACCEPT_LANGUAGE="en").json()
    english = auth_client.patch(ME, {"language": ""}, format="json")
    assert english.json()["language"] == ""
    again = auth_client.get("/api/v1/scans/not-a-uuid/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert missing["error"]["code"] == again["error"]["code"]
    assert missing["error"]["message"] != again["error"]["message"]  # Spanish, then English


def test_an_unknown_language_is_refused(auth_client, user):
    response = auth_client.patch(ME, {"language": "xx"}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.language == ""


def test_patch_me_updates_name_and_consent(auth_client, user):
    response = auth_client.patch(ME, {"display_name": "Alice", "consent_training": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "Alice" and body["consent_training"] is True and body["consent_updated_at"]
    user.refresh_from_db()
    assert user.consent_training and user.consent_updated_at


def test_patch_me_cannot_change_the_email(auth_client, user):
    auth_client.patch(ME, {"email": "mallory@example.com"}, format="json")
    user.refresh_from_db()
    assert user.email == "alice@example.com"


@pytest.mark.parametrize("payload, field", [({"display_name": "x" * 101}, "display_name"),
                                            ({"consent_training": "maybe"}, "consent_training")])
def test_patch_me_validation_is_400(auth_client, payload, field):
    response = auth_client.patch(ME, payload, format="json")
    assert response.status_code == 400 and field in error_of(response)["fields"]


def test_me_needs_a_token(api_client):
    assert api_client.get(ME).status_code == 401
    assert api_client.patch(ME, {"display_name": "x"}, format="json").status_code == 401
    assert api_client.delete(ME, {"password": PASSWORD}, format="json").status_code == 401


def test_export_is_a_zip_of_own_data(auth_client, user, other_user, settings):
    mine = make_scan(user, status=Scan.Status.DONE, label="acne")
    make_scan(other_user)
    response = auth_client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "alice@example.com"
    assert [s["id"] for s in data["scans"]] == [str(mine.id)]
    assert data["disclaimer"] == settings.DISCLAIMER
    assert f"images/{mine.id}-front.jpg" in archive.namelist()


def test_export_needs_a_token(api_client):
    response = api_client.get(EXPORT, HTTP_ACCEPT="application/zip")
    assert response.status_code == 401
    error_of(response)


def test_delete_me_needs_the_right_password(auth_client, user):
    response = auth_client.delete(ME, {"password": "wrong"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_password"
    response = auth_client.delete(ME, {}, format="json")
    assert response.status_code == 400 and "password" in error_of(response)["fields"]
    assert get_user_model().objects.filter(pk=user.pk).exists()


def test_delete_me_removes_everything(api_client, user, other_user, isolated_media,
                                      django_capture_on_commit_callbacks):
    tokens = obtain_tokens(api_client, user.email)
    make_scan(user, status=Scan.Status.DONE, heatmap=True)
    theirs = make_scan(other_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(ME, {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    assert not get_user_model().objects.filter(email="alice@example.com").exists()
    assert list(Scan.objects.values_list("id", flat=True)) == [theirs.id]
    assert len(media_files(isolated_media)) == 2  # only bob's photo and thumbnail are left
    # the old tokens are dead
    assert api_client.get(ME).status_code == 401
    api_client.credentials()
    refresh = api_client.post(reverse("api:token-refresh"), {"refresh": tokens["refresh"]}, format="json")
    assert refresh.status_code == 401
    assert api_client.post(reverse("api:token"), {"email": user.email, "password": PASSWORD},
                           format="json").status_code == 401
