import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from .helpers import PASSWORD, error_of, obtain_tokens

pytestmark = pytest.mark.django_db

REGISTER = reverse("api:register")
TOKEN = reverse("api:token")
REFRESH = reverse("api:token-refresh")
LOGOUT = reverse("api:logout")
ME = reverse("api:me")


# --- register ---------------------------------------------------------------------------------

def test_register_creates_the_account(api_client, account_mail):
    response = api_client.post(REGISTER, {"email": "Carol@Example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "carol@example.com" and body["message"]
    assert "password" not in body
    user = get_user_model().objects.get(email="carol@example.com")
    assert user.check_password(PASSWORD)
    assert [m.to for m in account_mail.outbox] == [["carol@example.com"]]
    refused = api_client.post(TOKEN, {"email": "carol@example.com", "password": PASSWORD}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "email_unconfirmed"
    link = re.search(r"https?://[^/]+(/accounts/confirm/\S+/)", account_mail.outbox[0].body).group(1)
    assert Client().post(link, {"action": "password", "password": PASSWORD}).status_code == 302
    obtain_tokens(api_client, "carol@example.com")  # and can log in once the address is confirmed


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "carol@example.com"}, "password"),
        ({"email": "carol@example.com", "password": "12345678"}, "password"),  # common and numeric
        ({"email": "carol@example.com", "password": "short"}, "password"),
    ],
)
def test_register_validation_errors_are_400_with_fields(api_client, payload, field):
    response = api_client.post(REGISTER, payload, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"] and error["fields"][field]
    assert not get_user_model().objects.filter(email="carol@example.com").exists()


def test_register_with_a_taken_email_answers_the_same_and_reveals_nothing(api_client, user, account_mail):
    new = api_client.post(REGISTER, {"email": "carol@example.com", "password": PASSWORD}, format="json")
    taken = api_client.post(REGISTER, {"email": "ALICE@example.com", "password": "another good passphrase"},
                            format="json")
    assert taken.status_code == new.status_code == 201
    assert set(taken.json()) == set(new.json()) and taken.json()["message"] == new.json()["message"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # the existing account is untouched
    assert get_user_model().objects.filter(email__iexact="alice@example.com").count() == 1
    assert account_mail.outbox[-1].to == ["alice@example.com"]  # its owner is told


def test_register_rejects_non_json_with_415(api_client):
    response = api_client.post(REGISTER, "email=x", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_malformed_json_is_400(api_client):
    response = api_client.post(REGISTER, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_register_ignores_a_bad_bearer_header(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = api_client.post(REGISTER, {"email": "carol@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201


# --- token ------------------------------------------------------------------------------------

def test_token_returns_access_and_refresh(api_client, user):
    tokens = obtain_tokens(api_client, "Alice@Example.com")
    assert set(tokens) == {"access", "refresh"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(ME).json()["email"] == "alice@example.com"


def test_wrong_password_is_401(api_client, user):
    response = api_client.post(TOKEN, {"email": user.email, "password": "wrong password"}, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "no_active_account"


def test_repeated_wrong_passwords_lock_the_account_with_429(api_client, user, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        api_client.post(TOKEN, {"email": user.email, "password": "wrong password"}, format="json")
    response = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert error_of(response)["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0


def test_inactive_user_gets_no_token(api_client, user):
    user.is_active = False
    user.save()
    response = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 401


def test_token_without_fields_is_400(api_client):
    response = api_client.post(TOKEN, {}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "password"}


# --- authentication on other endpoints --------------------------------------------------------

def test_missing_token_is_401_with_www_authenticate(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Bearer a b", "Token abc"])
def test_malformed_token_is_401(api_client, user, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(ME)
    assert response.status_code == 401
    error_of(response)


def test_expired_access_token_is_401(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"


def test_access_token_lifetime_follows_settings(api_client, user, settings):
    tokens = obtain_tokens(api_client, user.email)
    access = AccessToken(tokens["access"])
    assert access["exp"] - access["iat"] == int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def test_refresh_token_is_not_an_access_token(api_client, user):
    tokens = obtain_tokens(api_client, user.email)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert api_client.get(ME).status_code == 401


# --- refresh ----------------------------------------------------------------------------------

def test_refresh_rotates_and_blacklists_the_old_token(api_client, user):
    tokens = obtain_tokens(api_client, user.email)
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    new = response.json()
    assert set(new) == {"access", "refresh"} and new["refresh"] != tokens["refresh"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert api_client.get(ME).status_code == 200
    api_client.credentials()
    reused = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401
    assert error_of(reused)["code"] == "token_not_valid"
    # Reuse revokes the family (test_token_revocation): the token issued from it is dead too.
    assert api_client.post(REFRESH, {"refresh": new["refresh"]}, format="json").status_code == 401


def test_expired_refresh_token_is_401(api_client, user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(lifetime=-timedelta(seconds=1))
    response = api_client.post(REFRESH, {"refresh": str(refresh)}, format="json")
    assert response.status_code == 401


def test_refresh_with_garbage_is_401_and_missing_is_400(api_client):
    assert api_client.post(REFRESH, {"refresh": "garbage"}, format="json").status_code == 401
    response = api_client.post(REFRESH, {}, format="json")
    assert response.status_code == 400 and "refresh" in error_of(response)["fields"]


def test_refresh_for_a_deleted_account_is_401_not_500(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    get_user_model().objects.filter(pk=user.pk).delete()
    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 401


# --- logout -----------------------------------------------------------------------------------

def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = obtain_tokens(api_client, user.email)
    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    again = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_errors(api_client):
    assert api_client.post(LOGOUT, {"refresh": "garbage"}, format="json").status_code == 401
    response = api_client.post(LOGOUT, {}, format="json")
    assert response.status_code == 400 and "refresh" in error_of(response)["fields"]


def test_wrong_method_is_405_in_the_error_shape(api_client):
    response = api_client.get(TOKEN)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
