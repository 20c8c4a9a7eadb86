import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_signup_creates_account_then_login_works_once_confirmed(client, django_user_model, account_mail):
    response = client.post(
        reverse("signup"),
        {"email": "New.Person@Example.com", "password1": "a-long-secret-42", "password2": "a-long-secret-42"},
    )
    assert response.status_code == 302 and response.url == reverse("signup-done")
    user = django_user_model.objects.get()
    assert user.email == "new.person@example.com" and user.email_verified_at is None
    message = account_mail.outbox[0]
    assert message.to == ["new.person@example.com"] and "Confirm your e-mail address" in message.subject
    link = re.search(r"https?://[^/]+(/accounts/confirm/\S+/)", message.body).group(1)
    client.post(link, {"action": "password", "password": "a-long-secret-42"})
    client.logout()
    client.post(reverse("login"), {"username": "new.person@example.com", "password": "a-long-secret-42"})
    assert client.get(reverse("diagnosis:history")).status_code == 200


def test_signup_rejects_mismatched_and_weak_passwords(client, django_user_model):
    response = client.post(reverse("signup"), {"email": "a@example.com", "password1": "123", "password2": "124"})
    assert response.status_code == 400
    assert "The two passwords differ" in response.content.decode()
    assert not django_user_model.objects.exists()


def test_signup_with_existing_email_answers_the_same_and_tells_the_owner(client, user, django_user_model,
                                                                         account_mail):
    new = client.post(
        reverse("signup"),
        {"email": "dave@example.com", "password1": "a-long-secret-42", "password2": "a-long-secret-42"},
    )
    taken = client.post(
        reverse("signup"),
        {"email": "ALICE@example.com", "password1": "a-long-secret-42", "password2": "a-long-secret-42"},
    )
    assert (taken.status_code, taken.url) == (new.status_code, new.url)
    assert django_user_model.objects.count() == 2
    user.refresh_from_db()
    assert user.check_password("correct horse battery")  # the existing account is untouched
    assert mail.outbox[-1].to == ["alice@example.com"] and "tried to sign up" in mail.outbox[-1].subject


def test_login_and_logout(client, user):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get(reverse("diagnosis:history")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("diagnosis:history")).status_code == 302


def test_login_with_wrong_password_fails(client, user):
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change(user_client, user):
    response = user_client.post(
        reverse("password_change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "brand-new-pass-77",
            "new_password2": "brand-new-pass-77",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-77")


def test_password_reset_by_email_link(client, user, account_mail):
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(set_url, {"new_password1": "reset-pass-9876", "new_password2": "reset-pass-9876"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("reset-pass-9876")


def test_password_reset_for_unknown_email_looks_the_same(client, account_mail):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 0


def test_check_your_e_mail_names_the_address_and_sends_it_again(client, account_mail):
    """Issue 32, point 12: the page repeats the address and offers to send the e-mail again; the same answer
    whether or not the address has an account."""
    response = client.post(reverse("signup"), {"email": "New.Person@Example.com", "password1": "a long passphrase 42",
                                               "password2": "a long passphrase 42"}, follow=True)
    assert "new.person@example.com" in response.content.decode().lower()
    assert 'id="resend-signup-email"' in response.content.decode()
    assert len(account_mail.outbox) == 1
    again = client.post(reverse("signup-done"), follow=True)
    assert again.status_code == 200 and "We sent the e-mail again" in again.content.decode()
    assert len(account_mail.outbox) == 2
    assert account_mail.outbox[0].subject == account_mail.outbox[1].subject  # the same confirmation e-mail
    assert "/accounts/confirm/" in account_mail.outbox[1].body


def test_sending_again_is_limited_per_address(client, account_mail, settings):
    settings.AUTH_RATE_LIMIT_PER_ACCOUNT = 2
    client.post(reverse("signup"), {"email": "limit@example.com", "password1": "a long passphrase 42",
                                    "password2": "a long passphrase 42"})
    for _ in range(4):
        assert client.post(reverse("signup-done")).status_code == 302  # the same answer every time
    assert len(account_mail.outbox) == 1 + 2


def test_without_a_sign_up_in_this_browser_the_page_names_no_address(client):
    html = client.get(reverse("signup-done")).content.decode()
    assert "the address you gave" in html and 'id="resend-signup-email"' not in html
    assert client.post(reverse("signup-done")).status_code == 200  # nothing to send again
