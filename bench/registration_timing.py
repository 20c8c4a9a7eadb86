"""Sign-up and password-reset time for an address that has an account vs a new one: the difference must be noise.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/facediag python bench/registration_timing.py [--runs 20]
        [--smtp-ms 450]

With ``--smtp-ms`` mail goes over SMTP to a local server (aiosmtpd) that takes that long to accept each
message, as a production mail server may: a request that sends mail itself shows it in its time.

Runs in-process through Django's test client (web `POST /accounts/signup/` and API
`POST /api/v1/auth/register/`) with the production settings and password hasher (PBKDF2), on a
throwaway database (`<name>_bench_registration`, created and dropped; SQLite in a temporary folder
when DATABASE_URL is not set). Existing and new addresses alternate; two warm-up rounds are not
counted. Mail goes to Django's in-memory backend. Prints the CPU model, then per endpoint the median,
min and max of each kind, and `MEDIAN_MS existing=<n> new=<n>`.
"""

import argparse
import atexit
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "a long and private passphrase"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--smtp-ms", type=float, default=0, help="send mail to a local SMTP server this slow")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="facediag-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.update(DJANGO_SETTINGS_MODULE="facediag_site.settings", DJANGO_READ_DOT_ENV="false",
                      DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789"),
                      THROTTLE_REGISTER="1000000/hour", AUTH_RATE_LIMIT_PER_IP="1000000",
                      AUTH_RATE_LIMIT_PER_ACCOUNT="1000000",
                      FACEDIAG_EMBEDDED_REDIS_DIR=f"{tmp}/redis")
    if not os.environ.get("REDIS_URL"):  # the broker and cache of the embedded default, for this bench only
        from facediag_site.embedded_redis import running

        redis_server = contextlib.ExitStack()
        redis_server.enter_context(running(Path(tmp) / "redis"))
        atexit.register(redis_server.close)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # no per-request log lines between the figures
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import get_hasher
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        f"{settings.DATABASES['default']['NAME']}_bench_registration"
        if connection.vendor != "sqlite" else f"{tmp}/bench-test.sqlite3")
    setup_test_environment()  # in-memory mail, ALLOWED_HOSTS for the test client
    smtp = slow_smtp_server(args.smtp_ms / 1000) if args.smtp_ms else None
    if smtp is not None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        get_user_model().objects.create_user(email="taken@example.com", password=PASSWORD)
        client = Client()
        print(f"CPU: {machine_state()}")
        print(f"database: {connection.vendor}; hasher: {get_hasher().algorithm}; runs: {args.runs} each; mail: "
              + (f"SMTP taking {args.smtp_ms:.0f} ms a message" if smtp else "in memory"))

        def web(email, n):
            return client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD},
                               REMOTE_ADDR=f"10.9.{n // 250}.{n % 250}")

        def api(email, n):
            return client.post("/api/v1/auth/register/", {"email": email, "password": PASSWORD},
                               content_type="application/json", REMOTE_ADDR=f"10.8.{n // 250}.{n % 250}")

        def reset(email, n):
            return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=f"10.7.{n // 250}.{n % 250}")

        for name, call, ok in (("web sign-up", web, 302), ("API register", api, 201), ("password reset", reset, 302)):
            times = {"existing": [], "new": []}
            for n in range(args.runs + 2):
                for kind in ("existing", "new"):
                    email = "Taken@Example.com" if kind == "existing" else f"new-{name[:3]}-{n}@example.com"
                    start = time.perf_counter()
                    response = call(email, n)
                    elapsed = (time.perf_counter() - start) * 1000
                    assert response.status_code == ok, (response.status_code, response.content[:300])
                    if n >= 2:
                        times[kind].append(elapsed)
            print(f"{name}:")
            for kind, values in times.items():
                print(f"  {kind:8} median {statistics.median(values):7.1f} ms  min {min(values):7.1f}  "
                      f"max {max(values):7.1f}")
            print(f"  MEDIAN_MS existing={statistics.median(times['existing']):.1f} "
                  f"new={statistics.median(times['new']):.1f}")
    finally:
        if smtp is not None:
            smtp.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def slow_smtp_server(seconds):
    import asyncio

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(seconds)
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


if __name__ == "__main__":
    main()
