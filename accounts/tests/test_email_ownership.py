"""An account is usable only once its owner proved the address (finding M3 of round three: pre-account
takeover). An attacker registered the victim's address with the attacker's password; the victim got "Your
account is ready", used its one-click link and uploaded a photo; the attacker then logged in with the password
and saw it all."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"
ATTACKER_PASSWORD = "the attacker's own passphrase"
VICTIM_PASSWORD = "the victim's private passphrase"


def web_sign_up(client, email, password):
    response = client.post(reverse("signup"), {"email": email, "password1": password, "password2": password})
    assert response.status_code == 302 and response["Location"] == reverse("signup-done")
    return response


def api_register(client, email, password):
    response = client.post(reverse("api:register"), {"email": email, "password": password},
                           content_type="application/json")
    assert response.status_code == 201
    return response


def link_in(message):
    match = re.search(r"https?://[^/\s]+(/accounts/confirm/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def web_login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def api_token(email, password):
    return Client().post(reverse("api:token"), {"email": email, "password": password},
                         content_type="application/json")


def signed_in(client):
    return "_auth_user_id" in client.session


def test_the_attacker_never_gets_into_the_account_the_victim_confirms(account_mail):
    attacker, victim = Client(), Client()
    web_sign_up(attacker, VICTIM, ATTACKER_PASSWORD)
    # The victim opens the e-mail's link; they do not know the password someone chose for them.
    link = link_in(account_mail.outbox[-1])
    page = victim.get(link)
    assert page.status_code == 200 and "Confirm your e-mail address" in page.content.decode()
    assert not signed_in(victim)  # the link alone signs nobody in
    guess = victim.post(link, {"action": "password", "password": "no idea"})
    assert guess.status_code == 400 and not signed_in(victim)
    # ... so they choose their own, which confirms the address and signs them in.
    response = victim.post(link, {"action": "new", "new-new_password1": VICTIM_PASSWORD,
                                  "new-new_password2": VICTIM_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("diagnosis:upload")
    assert signed_in(victim)
    # The attacker's password is gone: neither the web nor the API lets them in.
    assert not signed_in(attacker) and web_login(attacker, VICTIM, ATTACKER_PASSWORD).status_code == 200
    assert not signed_in(attacker)
    assert api_token(VICTIM, ATTACKER_PASSWORD).status_code == 401
    assert api_token(VICTIM, VICTIM_PASSWORD).status_code == 200


def test_before_confirmation_the_password_alone_signs_nobody_in(client, account_mail):
    api_register(client, VICTIM, ATTACKER_PASSWORD)
    account_mail.outbox.clear()
    page = web_login(client, VICTIM, ATTACKER_PASSWORD)
    assert page.status_code == 200 and not signed_in(client)
    assert "Confirm your e-mail address first" in page.content.decode()
    refused = api_token(VICTIM, ATTACKER_PASSWORD)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "email_unconfirmed"
    # The right password sends the link again (the registrant may have lost it); a wrong one neither says
    # "confirm first" nor sends anything.
    assert [m.to for m in account_mail.outbox] == [[VICTIM], [VICTIM]]
    wrong = api_token(VICTIM, "a wrong password")
    assert wrong.status_code == 401 and len(account_mail.outbox) == 2
    assert "Confirm your e-mail address first" not in web_login(client, VICTIM, "wrong").content.decode()
    # No session of an unconfirmed account counts either.
    client.force_login(get_user_model().objects.get(email=VICTIM))
    assert client.get(reverse("diagnosis:history")).status_code == 302


def test_the_registrant_confirms_with_the_password_chosen_at_sign_up(client, account_mail):
    api_register(client, "newcomer@example.com", VICTIM_PASSWORD)
    link = link_in(account_mail.outbox[-1])
    response = client.post(link, {"action": "password", "password": VICTIM_PASSWORD})
    assert response.status_code == 302 and signed_in(client)
    assert get_user_model().objects.get(email="newcomer@example.com").email_verified_at is not None
    assert api_token("newcomer@example.com", VICTIM_PASSWORD).status_code == 200
    client.logout()
    assert client.post(link, {"action": "password", "password": VICTIM_PASSWORD}).status_code == 400  # once only


def test_a_second_registration_of_an_unconfirmed_address_replaces_the_first(account_mail):
    attacker, victim = Client(), Client()
    api_register(attacker, VICTIM, ATTACKER_PASSWORD)
    attackers_link = link_in(account_mail.outbox[-1])
    web_sign_up(victim, VICTIM, VICTIM_PASSWORD)
    victims_link = link_in(account_mail.outbox[-1])
    assert get_user_model().objects.filter(email=VICTIM).count() == 1
    # The first registration's link and password are gone; the second's work.
    assert attacker.post(attackers_link, {"action": "password", "password": ATTACKER_PASSWORD}).status_code == 400
    assert victim.post(victims_link, {"action": "password", "password": ATTACKER_PASSWORD}).status_code == 400
    assert victim.post(victims_link, {"action": "password", "password": VICTIM_PASSWORD}).status_code == 302
    assert api_token(VICTIM, ATTACKER_PASSWORD).status_code == 401
    assert api_token(VICTIM, VICTIM_PASSWORD).status_code == 200


def test_signing_up_answers_the_same_for_new_unconfirmed_and_confirmed_addresses(client, user, account_mail):
    api_register(client, "unconfirmed@example.com", VICTIM_PASSWORD)
    answers, mails = [], []
    for email in ("brand.new@example.com", "unconfirmed@example.com", user.email.upper()):
        before = len(account_mail.outbox)
        web = client.post(reverse("signup"), {"email": email, "password1": VICTIM_PASSWORD,
                                              "password2": VICTIM_PASSWORD}, follow=True)
        api = client.post(reverse("api:register"), {"email": email, "password": VICTIM_PASSWORD},
                          content_type="application/json")
        page = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "CSRF", web.content.decode())  # masked per request
        page = page.replace(email.lower(), "ADDRESS")  # the page repeats the address typed, whatever it is
        answers.append((web.status_code, web.redirect_chain, page, api.status_code,
                        api.json()["message"], api.json()["email"] == email.lower()))
        mails.append([m.to for m in account_mail.outbox[before:]])
    assert answers[0] == answers[1] == answers[2]
    assert mails == [[["brand.new@example.com"]] * 2, [["unconfirmed@example.com"]] * 2, [[user.email]] * 2]
    user.refresh_from_db()
    assert user.check_password("correct horse battery")  # a confirmed account is never replaced
    assert "tried to sign up" in account_mail.outbox[-1].subject


def test_a_password_reset_confirms_the_address(client, account_mail):
    api_register(client, VICTIM, ATTACKER_PASSWORD)
    client.post(reverse("password_reset"), {"email": VICTIM})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", account_mail.outbox[-1].body).group(1)
    form_url = client.get(link).url
    assert client.post(form_url, {"new_password1": VICTIM_PASSWORD,
                                  "new_password2": VICTIM_PASSWORD}).status_code == 302
    assert api_token(VICTIM, VICTIM_PASSWORD).status_code == 200
    assert api_token(VICTIM, ATTACKER_PASSWORD).status_code == 401


def test_wrong_passwords_on_the_confirmation_page_count_towards_the_lockout(client, settings, account_mail):
    api_register(client, VICTIM, ATTACKER_PASSWORD)
    link = link_in(account_mail.outbox[-1])
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert client.post(link, {"action": "password", "password": "guess"}).status_code == 400
    locked = client.post(link, {"action": "password", "password": ATTACKER_PASSWORD})
    assert locked.status_code == 429 and "Retry-After" in locked
    assert not signed_in(client)


@pytest.mark.parametrize("tamper", [
    lambda link: link.replace("/confirm/", "/confirm/x"),
    lambda link: link[:-3] + "aa/",
], ids=["user id", "token"])
def test_a_forged_link_is_refused(client, account_mail, tamper):
    api_register(client, "newcomer@example.com", VICTIM_PASSWORD)
    link = tamper(link_in(account_mail.outbox[-1]))
    assert client.post(link, {"action": "password", "password": VICTIM_PASSWORD}).status_code == 400


def test_a_password_reset_token_does_not_confirm(client, account_mail):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    api_register(client, "newcomer@example.com", VICTIM_PASSWORD)
    person = get_user_model().objects.get(email="newcomer@example.com")
    link = reverse("confirm-email", args=[urlsafe_base64_encode(force_bytes(person.pk)),
                                          default_token_generator.make_token(person)])
    assert client.post(link, {"action": "password", "password": VICTIM_PASSWORD}).status_code == 400


def test_accounts_made_by_an_operator_count_as_confirmed(django_user_model):
    assert django_user_model.objects.create_user(email="op@example.com", password="x" * 12).email_verified_at
    assert django_user_model.objects.create_superuser(email="root@example.com", password="x" * 12).email_verified_at
