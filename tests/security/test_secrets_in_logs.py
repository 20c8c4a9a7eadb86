"""No secret of a URL reaches a log line, for any request (finding M1 of round three), and the web server does
not name itself (L4).

Password-reset, sign-in/confirmation and unsubscribe links carry their credential in the path. gunicorn's
access log (stdout in run.sh and docker-compose) wrote those paths, and the Referer of every request made
from such a page, so anyone reading the logs could reset a password or sign in. This runs the web exactly as
`scripts/run.sh` does (its gunicorn command line, read from the script), sends every route that takes a
credential in its path each way a client might (GET, POST without CSRF, no trailing slash, an extra segment,
a query string, as a Referer, as a `next` parameter), walks the real reset, sign-in and unsubscribe flows
through it, and searches everything the process wrote for the secrets."""

import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.faults.infra import free_port
from tests.security.test_access_matrix import all_patterns
from tests.worker import worker_env

ROOT = Path(__file__).resolve().parents[2]
#: A route parameter with one of these in its name carries a credential.
SECRET_PARAMETER = re.compile(r"token|uid|secret|key", re.I)
PASSWORD = "correct horse battery"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_sh_web_command(host, port, workers):
    """The web command of scripts/run.sh: its supervisor's web part, as the supervisor starts it."""
    from facediag_site.supervise import web_command

    return web_command(host, port, workers)


class WebServer:
    """scripts/run.sh's gunicorn command on the test database, with everything it writes kept in a file."""

    def __init__(self, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = worker_env(HOST="127.0.0.1", PORT=self.port, WEB_WORKERS=1, DJANGO_READ_DOT_ENV="false",
                         FACEDIAG_SITE_URL=self.base)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(run_sh_web_command("127.0.0.1", self.port, 1), cwd=ROOT, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            try:
                requests.get(self.base + "/healthz/?live=1", timeout=10)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._log.close()
        return self.log()


@pytest.fixture
def web(tmp_path):
    server = WebServer(tmp_path / "web.log").wait_ready()
    yield server
    server.stop()


def secret_routes():
    """Every URL pattern of the project with a credential among its parameters, from the resolver: a new
    one is covered without touching this test."""
    for route, name in all_patterns():
        params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        names = [a or b for a, b in params]
        if any(SECRET_PARAMETER.search(n) for n in names):
            yield route, name, names


def fake_url(route, values):
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route.lstrip("^"))
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], route)
    return "/" + route.replace("\\Z", "").replace("$", "").replace("\\", "")


def csrf_post(session, url, data, referer):
    page = session.get(url, timeout=10)
    token = session.cookies.get("csrftoken") or re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                                                            page.text).group(1)
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": referer},
                        allow_redirects=False, timeout=10)


def test_every_credential_route_is_found():
    found = {name for _route, name, _names in secret_routes()}
    assert {"password_reset_confirm", "reminders:unsubscribe"} <= found, found


def test_no_secret_of_any_url_reaches_any_log_line(web, user):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from accounts import services as account_services
    from reminders import tokens as reminder_tokens

    leaked_if_seen = []  # every secret sent
    sent = 0

    def get(path, **kwargs):
        nonlocal sent
        sent += 1
        kwargs.setdefault("allow_redirects", False)
        return requests.request(kwargs.pop("method", "GET"), web.base + path, timeout=10, **kwargs)

    # 1. Every credential route, with made-up secrets, every way a client may send them.
    for route, name, names in secret_routes():
        values = {n: (f"Sx{secrets.token_hex(12)}" if SECRET_PARAMETER.search(n) else "1") for n in names}
        values.update({n: str(uuid.uuid4()) for n in names if n.endswith("_id")})
        leaked_if_seen += [v for n, v in values.items() if SECRET_PARAMETER.search(n)]
        url = fake_url(route, values)
        query_secret = f"Qx{secrets.token_hex(12)}"
        leaked_if_seen.append(query_secret)
        for response in (
            get(url), get(url, method="POST"), get(url, method="HEAD"), get(url.rstrip("/")),
            get(url + "more/"), get(url + f"?token={query_secret}&utm_source=mail"),
            get("/static/css/app.css", headers={"Referer": web.base + url + f"?t={query_secret}"}),
            get(f"/login/?next={url}"),
        ):
            assert response.status_code < 500, (name, response.status_code)

    # 2. The real flows with real tokens: reset a password, open a sign-in link, unsubscribe.
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    reset_token = default_token_generator.make_token(user)
    leaked_if_seen += [reset_token, reset_token.split("-", 1)[1]]
    browser = requests.Session()
    reset_url = f"{web.base}/accounts/password/reset/{uid}/{reset_token}/"
    form_page = browser.get(reset_url, timeout=10, headers={"Referer": reset_url})
    sent += 2  # the link, then the form it redirects to
    assert form_page.status_code == 200 and "new_password1" in form_page.text
    browser.get(web.base + "/static/css/app.css", headers={"Referer": reset_url}, timeout=10)
    done = csrf_post(browser, form_page.url, {"new_password1": "a brand new passphrase 7",
                                              "new_password2": "a brand new passphrase 7"}, form_page.url)
    sent += 3
    assert done.status_code == 302, done.text[:500]

    newcomer = get_user_model().objects.create(email="newcomer@example.com", password=make_password(PASSWORD))
    confirm_path = account_services.confirmation_link_path(newcomer)
    leaked_if_seen += [part for part in confirm_path.strip("/").split("/")[2:] if len(part) >= 8]
    page = browser.get(web.base + confirm_path, timeout=10)
    browser.get(web.base + "/static/css/app.css", headers={"Referer": web.base + confirm_path}, timeout=10)
    confirmed = csrf_post(browser, web.base + confirm_path, {"action": "password", "password": PASSWORD},
                          web.base + confirm_path)
    sent += 4
    assert page.status_code == 200 and confirmed.status_code == 302, confirmed.text[:500]

    unsubscribe = reminder_tokens.unsubscribe_token(user)
    leaked_if_seen += [unsubscribe] + [part for part in unsubscribe.split(":") if len(part) >= 8]
    assert get(f"/reminders/unsubscribe/{unsubscribe}/").status_code == 200
    assert get(f"/reminders/unsubscribe/{unsubscribe}/", method="POST").status_code == 200

    log = web.stop()
    access_lines = [line for line in log.splitlines() if re.search(r'"(GET|POST|HEAD) ', line)]
    assert len(access_lines) >= sent, log[-3000:]  # the access log is on: every request has its line
    for secret in leaked_if_seen:
        assert secret not in log, f"{secret!r} is in the log:\n" + "\n".join(
            line for line in log.splitlines() if secret in line)
    assert "[redacted]" in log  # the lines are there, without their secrets


def test_the_web_server_does_not_name_itself(web):
    for path in ("/healthz/?live=1", "/login/", "/static/css/app.css", "/no-such-page/"):
        response = requests.get(web.base + path, timeout=10)
        assert "Server" not in response.headers, (path, response.headers.get("Server"))


def test_docker_compose_runs_gunicorn_like_run_sh():
    """The one gunicorn configuration (gunicorn.conf.py: the redacting access log, no Server header) in both."""
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for command in (" ".join(run_sh_web_command("127.0.0.1", 8000, 2)), compose["services"]["web"]["command"]):
        assert re.search(r"gunicorn .*(-c|--config)[ =]gunicorn\.conf\.py", command), command
