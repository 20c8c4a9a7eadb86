"""Refresh tokens end with a new password (finding 1) and a reused rotated token revokes its family
(finding 11)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from .helpers import PASSWORD, error_of, obtain_tokens

pytestmark = pytest.mark.django_db

REFRESH = reverse("api:token-refresh")
NEW_PASSWORD = "a different long passphrase"


def refresh(client, token):
    return client.post(REFRESH, {"refresh": token}, format="json")


def test_after_a_password_change_the_refresh_says_so_not_that_the_token_was_reused(api_client, user):
    """Finding L4 (round three): the app got "This refresh token was already used", which sends people
    looking for a thief; the token of a login from before a new password says what happened. Reuse
    detection is unchanged for tokens issued after it."""
    before = obtain_tokens(api_client, user.email)["refresh"]
    user.set_password(NEW_PASSWORD)
    user.save()
    error = error_of(refresh(api_client, before))
    assert error["code"] == "token_not_valid"  # the code apps already handle: log in again
    assert "password" in error["message"] and "already used" not in error["message"]
    after = obtain_tokens(api_client, user.email, NEW_PASSWORD)["refresh"]
    assert refresh(api_client, after).status_code == 200
    assert "already used" in error_of(refresh(api_client, after))["message"]  # a real reuse still says so


def test_a_web_password_change_revokes_every_refresh_token(api_client, user):
    phone = obtain_tokens(api_client, user.email)["refresh"]
    laptop = obtain_tokens(api_client, user.email)["refresh"]
    web = Client()
    web.force_login(user)
    response = web.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    for token in (phone, laptop):
        assert refresh(api_client, token).status_code == 401
    obtain_tokens(api_client, user.email, NEW_PASSWORD)  # the new password works


def test_a_password_reset_revokes_every_refresh_token(api_client, user, account_mail):
    stolen = obtain_tokens(api_client, user.email)["refresh"]
    web = Client()
    assert web.post(reverse("password_reset"), {"email": user.email}).status_code == 302
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", account_mail.outbox[-1].body).group(1)
    form_url = web.get(link).url  # Django swaps the token for a session marker and redirects
    response = web.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("password_reset_complete")
    assert refresh(api_client, stolen).status_code == 401


def test_a_password_hash_upgrade_at_login_is_not_a_password_change(api_client, user, settings):
    token = obtain_tokens(api_client, user.email)["refresh"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    obtain_tokens(api_client, user.email)  # check_password re-hashes with the preferred hasher
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha1$")
    assert refresh(api_client, token).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_its_whole_family(api_client, user):
    first = obtain_tokens(api_client, user.email)["refresh"]
    other_login = obtain_tokens(api_client, user.email)["refresh"]
    second = refresh(api_client, first).json()["refresh"]
    third = refresh(api_client, second).json()["refresh"]

    reused = refresh(api_client, first)  # a thief (or the victim) replays an old token
    assert reused.status_code == 401
    assert "already used" in error_of(reused)["message"]
    assert refresh(api_client, third).status_code == 401  # the newest token of that family is dead too
    assert refresh(api_client, other_login).status_code == 200  # another login is untouched


def test_a_forged_token_revokes_nothing(api_client, user):
    token = obtain_tokens(api_client, user.email)["refresh"]
    header, payload, _ = token.split(".")
    assert refresh(api_client, f"{header}.{payload}.forgedsignature").status_code == 401
    assert refresh(api_client, token).status_code == 200


def test_after_logout_the_refresh_says_the_login_ended_and_warns_of_no_reuse(api_client, user, caplog):
    """Finding L2 (issue 30): after a logout the token's error said "already used... revoked" and the log
    had a false reuse warning."""
    token = obtain_tokens(api_client, user.email)["refresh"]
    assert api_client.post(reverse("api:logout"), {"refresh": token}, format="json").status_code == 204
    with caplog.at_level("WARNING", logger="api.services"):
        error = error_of(refresh(api_client, token))
    assert error["code"] == "token_not_valid" and "login has ended" in error["message"]
    assert "already used" not in error["message"]
    assert not [r for r in caplog.records if "reuse" in r.getMessage()]


def test_after_account_deletion_the_refresh_says_the_account_is_gone(api_client, user, caplog):
    from accounts import services as account_services

    token = obtain_tokens(api_client, user.email)["refresh"]
    account_services.delete_account(user)
    with caplog.at_level("WARNING", logger="api.services"):
        error = error_of(refresh(api_client, token))
    assert "no longer exists" in error["message"] and "already used" not in error["message"]
    assert not [r for r in caplog.records if "reuse" in r.getMessage()]


def test_a_logged_out_token_whose_login_was_rotated_before_is_still_a_reuse(api_client, user):
    first = obtain_tokens(api_client, user.email)["refresh"]
    second = refresh(api_client, first).json()["refresh"]
    assert api_client.post(reverse("api:logout"), {"refresh": second}, format="json").status_code == 204
    assert "already used" in error_of(refresh(api_client, first))["message"]  # rotated from: a real reuse
