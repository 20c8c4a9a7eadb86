"""Error pages, icons, e-mails and button words a person meets outside the main flow."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roomy_reset_limits(settings):
    """Other modules' reset tests share the Redis rate-limit counters; these tests are not about limits."""
    settings.AUTH_RATE_LIMIT_PER_IP = 10_000
    settings.AUTH_RATE_LIMIT_PER_ACCOUNT = 10_000


def test_404_is_styled_with_a_way_home(client):
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "app.css" in html and 'href="/"' in html and "find that page" in html


def test_405_is_styled_for_web_pages(user_client):
    response = user_client.delete(reverse("diagnosis:history"))
    assert response.status_code == 405
    assert "app.css" in response.content.decode() and response["Allow"] == "GET"


def test_405_stays_json_for_the_api(client):
    response = client.put(reverse("api:token"), {}, content_type="application/json")
    assert response.status_code == 405 and response["Content-Type"].startswith("application/json")


def test_csrf_failure_is_styled_and_says_nothing_about_debug(user):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "alice@example.com", "password": "x"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html and "DEBUG" not in html and 'href="/"' in html


def test_500_page_renders_without_a_request_context():
    from django.template import loader

    html = loader.render_to_string("500.html")
    assert "Something went wrong on our side" in html and 'href="/"' in html


def test_favicon_and_web_manifest_are_linked_and_valid(client, settings):
    html = client.get(reverse("home")).content.decode()
    assert 'rel="icon"' in html and f'rel="manifest" href="{reverse("web-manifest")}"' in html
    response = client.get(reverse("web-manifest"))
    assert response["Content-Type"] == "application/manifest+json"  # was application/octet-stream
    manifest = response.json()
    assert manifest["name"] and manifest["start_url"] == "/scans/new/" and manifest["scope"] == "/"
    assert manifest["lang"].startswith("en")
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL)), icon["src"]


def test_the_web_manifest_speaks_the_readers_language(client):
    manifest = client.get(reverse("web-manifest"), HTTP_ACCEPT_LANGUAGE="es").json()
    assert manifest["lang"] == "es"
    assert "detección" in manifest["name"].lower() or "cribado" in manifest["name"].lower(), manifest["name"]
    assert "no es un diagnóstico" in manifest["description"]
    assert [s["name"] for s in manifest["shortcuts"]] == ["Nuevo análisis", "Historial"]


def test_reset_e_mail_is_signed_with_the_site_name(client, user, settings, account_mail):
    settings.SITE_NAME = "SkinCheck"
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    message = mail.outbox[-1]
    assert "SkinCheck" in message.subject and "The SkinCheck team" in message.body
    assert "testserver team" not in message.body


def test_used_reset_link_says_so_instead_of_an_empty_form(client, user, account_mail):
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "fresh-pass-991", "new_password2": "fresh-pass-991"})
    again = client.get(link, follow=True).content.decode()
    assert 'id="invalid-link"' in again and "<form method=\"post\" class=\"card\">" not in again


def test_buttons_say_what_they_do(client, user_client):
    assert "Send reset link" in client.get(reverse("password_reset")).content.decode()
    assert "Change password" in user_client.get(reverse("password_change")).content.decode()
    profile = user_client.get(reverse("profile")).content.decode()
    assert "Save profile" in profile and ">Save<" not in profile


def test_delete_account_button_is_a_real_button_not_red_on_red(user_client):
    """The link is styled by `.button.danger` (light text on red); the old `a.danger` rule made the text red."""
    html = user_client.get(reverse("profile")).content.decode()
    assert re.search(r'<a class="button danger" href="[^"]+">Delete my account</a>', html)
    css = open(finders.find("css/app.css")).read()
    assert "a.danger:not(.button)" in css and not re.search(r"(^|\n)a\.danger\s*\{", css)
