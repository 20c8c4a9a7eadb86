"""Login lockout (finding 5): per account, a growing delay rather than a lock at the owner's own address,
and per address only after failures on many distinct accounts (accounts.lockout)."""

import pytest
from django.urls import reverse

from accounts import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
OWNER_IP = "10.0.0.5"


@pytest.fixture
def clock(monkeypatch):
    """The wall clock the lockout reads (an outside boundary), moved by hand."""
    state = {"now": 1_900_000_000.0}
    monkeypatch.setattr(ratelimit, "now", lambda: state["now"])

    def advance(seconds):
        state["now"] += seconds

    return advance


def login(client, email, password, ip):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def succeeded(response):
    return response.status_code == 302 and response.url == reverse("diagnosis:upload")


def test_failures_on_unknown_emails_do_not_lock_out_another_user_at_that_address(client, user, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT + 1):
        assert login(client, f"nobody{n}@example.com", "guess", "10.0.0.9").status_code == 200
    assert succeeded(login(client, user.email, PASSWORD, "10.0.0.9"))


def test_a_stranger_cannot_lock_the_owner_out_of_their_usual_address(client, user, settings, clock):
    assert succeeded(login(client, user.email, PASSWORD, OWNER_IP))
    client.logout()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, user.email, "guess", "203.0.113.66")
    assert login(client, user.email, "guess", "203.0.113.66").status_code == 429  # the stranger is locked
    assert login(client, user.email, PASSWORD, "203.0.113.67").status_code == 429  # any new address too
    assert succeeded(login(client, user.email, PASSWORD, OWNER_IP))  # the owner's address is not


def test_the_owners_own_address_gets_a_growing_delay_not_a_lock(client, user, settings, clock):
    assert succeeded(login(client, user.email, PASSWORD, OWNER_IP))
    client.logout()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert login(client, user.email, "typo", OWNER_IP).status_code == 200
    paused = login(client, user.email, PASSWORD, OWNER_IP)
    assert paused.status_code == 429 and paused["Retry-After"] == "1"
    clock(1.5)
    assert login(client, user.email, "typo", OWNER_IP).status_code == 200  # one more try after the wait
    assert login(client, user.email, PASSWORD, OWNER_IP)["Retry-After"] == "2"  # and the wait doubles
    clock(2.5)
    assert succeeded(login(client, user.email, PASSWORD, OWNER_IP))


def test_a_refused_attempt_does_not_check_the_password(client, user, settings, clock):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, user.email, "guess", "198.51.100.1")
    response = login(client, user.email, PASSWORD, "198.51.100.1")
    assert response.status_code == 429 and int(response["Retry-After"]) == settings.LOGIN_LOCKOUT_MINUTES * 60
    assert "_auth_user_id" not in client.session
    clock(settings.LOGIN_LOCKOUT_MINUTES * 60 + 1)
    assert succeeded(login(client, user.email, PASSWORD, "198.51.100.1"))  # the lock ends


def test_an_address_failing_on_many_accounts_is_locked_for_every_account(client, user, settings):
    settings.LOGIN_IP_ACCOUNT_LIMIT = 8
    for n in range(8):
        login(client, f"victim{n}@example.com", "Summer2026!", "192.0.2.7")
    assert login(client, user.email, PASSWORD, "192.0.2.7").status_code == 429
    assert succeeded(login(client, user.email, PASSWORD, "192.0.2.8"))


def test_the_api_token_endpoint_shares_the_lockout(client, user, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, user.email, "guess", "198.51.100.2")
    response = client.post(reverse("api:token"), {"email": user.email, "password": PASSWORD},
                           content_type="application/json", REMOTE_ADDR="198.51.100.2")
    assert response.status_code == 429 and response.json()["error"]["code"] == "locked_out"


def test_an_unconfirmed_registrations_right_password_does_not_make_its_address_known(
        client, django_user_model, settings, clock):
    """Finding L1 (issue 30): a right-password attempt on an unconfirmed registration counted as a login
    success, so the squatter's address kept the owner's soft delays after the real owner took the account."""
    squatter_ip = "203.0.113.80"
    squatted = django_user_model.objects.create_user(email="owner@example.com", password="squatter-pass-123",
                                                     email_verified_at=None)  # a sign-up nobody confirmed
    assert login(client, squatted.email, "squatter-pass-123", squatter_ip).status_code == 200  # refused: unconfirmed
    # the owner takes the account (confirmation by their own new sign-up or a reset): a new password, confirmed
    squatted.set_password(PASSWORD)
    squatted.email_verified_at = squatted.date_joined
    squatted.save()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, squatted.email, "guess", squatter_ip)
    locked = login(client, squatted.email, "guess", squatter_ip)
    assert locked.status_code == 429
    clock(60)  # a soft delay (the owner's own address) would be over by now; a lock is not
    assert login(client, squatted.email, PASSWORD, squatter_ip).status_code == 429
