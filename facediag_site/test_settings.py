"""Settings for the test suite: real PostgreSQL and Redis by default (scripts/test.sh starts them)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facediag")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("THROTTLE_UPLOADS", "1000/hour")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
# locmem keeps mail inside one process; a worker started by a test writes files the test can read instead.
EMAIL_BACKEND = os.environ.get("FACEDIAG_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("FACEDIAG_TEST_EMAIL_DIR") or None
