"""Headers, CSRF, sessions, brute-force limits, enumeration, deploy checks."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_security_headers_and_a_csp_without_inline_scripts(client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_template_has_an_inline_script_or_a_form_without_csrf():
    for template in (ROOT / "templates").rglob("*.html"):
        html = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script in {template}"
        assert not re.search(r"\son\w+=\"", html), f"inline event handler in {template}"
        for tag, form in re.findall(r"(<form\b[^>]*method=\"post\"[^>]*>)(.*?)</form>", html, flags=re.S | re.I):
            # A page kept offline for whoever uses the device holds no token: its script adds the session's
            # token from the cookie when it sends (static/js/offline-logout.js); the server still checks it.
            assert "csrf_token" in form or "data-csrf-from-cookie" in tag, f"POST form without csrf_token in {template}"


def test_csrf_is_enforced(user):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": user.email, "password": "correct horse battery"})
    assert response.status_code == 403


def test_login_rotates_the_session(client, user):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("login"), {"username": user.email, "password": "correct horse battery"})
    assert client.session.session_key != before


def test_web_login_locks_out_an_account_after_repeated_failures(client, user, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    # Even the right password is refused now, from a new address too (per account).
    locked = client.post(reverse("login"), {"username": user.email, "password": "correct horse battery"},
                         REMOTE_ADDR="10.0.0.2")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_web_login_locks_out_an_address_that_tries_many_accounts(client, user, settings):
    for n in range(settings.LOGIN_IP_ACCOUNT_LIMIT):
        client.post(reverse("login"), {"username": f"guess{n}@example.com", "password": "x"}, REMOTE_ADDR="10.0.0.9")
    locked = client.post(reverse("login"), {"username": user.email, "password": "correct horse battery"},
                         REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429


def test_api_token_endpoint_locks_out_too(client, user, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"email": user.email, "password": "wrong"}, content_type="application/json")
    response = client.post("/api/v1/auth/token/", {"email": user.email, "password": "correct horse battery"},
                           content_type="application/json")
    assert response.status_code == 429


def test_password_reset_is_rate_limited_per_account(client, user, settings, account_mail):
    from django.core.cache import cache

    cache.clear()
    for _ in range(settings.AUTH_RATE_LIMIT_PER_ACCOUNT + 3):
        response = client.post(reverse("password_reset"), {"email": user.email})
        assert response.status_code == 302  # the same answer every time: nothing to learn
    assert len(mail.outbox) == settings.AUTH_RATE_LIMIT_PER_ACCOUNT


def test_password_reset_is_rate_limited_per_address(client, settings):
    from django.core.cache import cache

    cache.clear()
    statuses = [
        client.post(reverse("password_reset"), {"email": f"x{n}@example.com"}, REMOTE_ADDR="10.1.1.1").status_code
        for n in range(settings.AUTH_RATE_LIMIT_PER_IP + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {302}


def production_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="facediag_site.settings",
        DJANGO_SECRET_KEY="p" * 10 + "-production-like-secret-with-enough-entropy-0123456789-abcdefghij",
        DJANGO_SECURE="true",
        DJANGO_ALLOWED_HOSTS="facediag.example.org",
        DJANGO_READ_DOT_ENV="false",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587",
    )
    return env


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
