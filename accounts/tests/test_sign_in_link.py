"""Sign-up signs the person in through a single-use link in the welcome e-mail; the sign-up page itself
answers the same for new and existing addresses (no enumeration)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "a long and private passphrase"


def sign_up(client, email):
    response = client.post(reverse("signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("signup-done")
    return response


def link_in(message):
    match = re.search(r"https?://[^\s]+/accounts/signin/[^\s]+/", message.body)
    assert match, message.body
    return match.group(0)


def test_the_welcome_email_link_signs_the_new_person_in(client):
    sign_up(client, "newcomer@example.com")
    link = link_in(mail.outbox[-1])
    page = client.get(link)
    assert page.status_code == 200 and "newcomer@example.com" in page.content.decode()
    assert "_auth_user_id" not in client.session  # opening the link alone signs nobody in
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == reverse("diagnosis:upload")
    assert client.get(reverse("diagnosis:upload")).status_code == 200
    assert int(client.session["_auth_user_id"]) == get_user_model().objects.get(email="newcomer@example.com").pk


def test_the_link_works_once(client):
    sign_up(client, "newcomer@example.com")
    link = link_in(mail.outbox[-1])
    assert client.post(link).status_code == 302
    client.logout()
    again = client.post(link)
    assert again.status_code == 400 and "This link no longer works" in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_password_change_voids_the_link(client):
    sign_up(client, "newcomer@example.com")
    link = link_in(mail.outbox[-1])
    person = get_user_model().objects.get(email="newcomer@example.com")
    person.set_password("another long passphrase")
    person.save()
    assert client.post(link).status_code == 400


@pytest.mark.parametrize("tamper", [
    lambda link: link.replace("/signin/", "/signin/x"),
    lambda link: link[:-3] + "aa/",
], ids=["user id", "token"])
def test_a_forged_link_is_refused(client, tamper):
    sign_up(client, "newcomer@example.com")
    assert client.post(tamper(link_in(mail.outbox[-1]))).status_code == 400


def test_an_existing_address_gets_no_link_and_the_same_page(client, user):
    first = sign_up(client, "newcomer@example.com")
    again = sign_up(client, user.email)
    assert first["Location"] == again["Location"]
    assert "/accounts/signin/" not in mail.outbox[-1].body
    assert "_auth_user_id" not in client.session


def test_a_password_reset_token_does_not_sign_in(client, user):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("sign-in-link", args=[uid, default_token_generator.make_token(user)])
    assert client.post(link).status_code == 400
