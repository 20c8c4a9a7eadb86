"""Sign-up does the same work whether or not the address has an account (finding 2): one password hash
and one e-mail on both paths, web and API, so the response time reveals nothing. The figures (median
of 20 each, with the production hasher) come from bench/registration_timing.py."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "a long and private passphrase"


class CountingHasher(MD5PasswordHasher):
    """A real (fast) hasher that counts how many passwords it hashed."""

    algorithm = "counting_md5"
    encoded = 0

    def encode(self, password, salt):
        CountingHasher.encoded += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    CountingHasher.encoded = 0

    def taken():
        count, CountingHasher.encoded = CountingHasher.encoded, 0
        return count

    return taken


def web_signup(client, email):
    response = client.post(reverse("signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    return response


def api_register(client, email):
    response = client.post(reverse("api:register"), {"email": email, "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 201
    return response


@pytest.mark.parametrize("register", [web_signup, api_register], ids=["web", "api"])
def test_new_and_existing_addresses_cost_one_hash_and_one_email_each(client, user, hashes, register, account_mail):
    register(client, "newcomer@example.com")
    new_address = (hashes(), len(mail.outbox))
    register(client, user.email.upper())
    existing_address = (hashes(), len(mail.outbox) - new_address[1])
    assert new_address == existing_address == (1, 1)
