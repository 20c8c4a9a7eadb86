"""Settings for the test suite: real PostgreSQL and Redis by default (scripts/test.sh starts them).

Under pytest-xdist each worker (PYTEST_XDIST_WORKER = gw0, gw1, ...) has its own PostgreSQL test database
(pytest-django names it test_<name>_gw0, ...) and its own Redis database: REDIS_URL's number for gw0, the
one below it for gw1, and so on down (15, 14, ... by default), because the worker tests flush the broker's
database. The Celery workers a test starts inherit the worker's URL and FACEDIAG_TEST_REDIS_WORKER, so
they do not move it again.
"""

import os
import re

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facediag")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("THROTTLE_UPLOADS", "1000/hour")


def redis_url_for_worker(url: str, worker: str) -> str:
    """``url`` with the database of xdist worker ``worker`` (gw0 keeps its number, gwN takes N below it)."""
    index = int(worker.removeprefix("gw") or 0)
    match = re.fullmatch(r"(rediss?://[^/]*)(?:/(\d*))?", url)
    if match is None:
        raise ValueError(f"REDIS_URL {url!r} is not redis://host:port/db")
    base = int(match.group(2) or 0)
    if base - index < 0:
        raise ValueError(f"REDIS_URL database {base} leaves no Redis database for xdist worker {worker}: "
                         "start from a higher one (15 is the default)")
    return f"{match.group(1)}/{base - index}"


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("FACEDIAG_TEST_REDIS_WORKER") != _worker:
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], _worker)
    os.environ["FACEDIAG_TEST_REDIS_WORKER"] = _worker  # moved once: started workers inherit both

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
# locmem keeps mail inside one process; a worker started by a test writes files the test can read instead.
EMAIL_BACKEND = os.environ.get("FACEDIAG_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("FACEDIAG_TEST_EMAIL_DIR") or None
