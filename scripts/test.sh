#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and Redis (started here if they are down),
# real Celery worker processes and headless Chromium. Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh"
ensure_venv requirements-dev.txt
ensure_redis 6379
ensure_postgres

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)           # browser tests
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 \
  || missing+=(docker-compose)                                        # compose file validation
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)         # alert rules: promtool check/test
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)  # the Alertmanager config: amtool
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || echo "WARNING: the tests that need ${missing[*]} will fail or skip" >&2
fi

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy  # configuration and scope: [tool.mypy] in pyproject.toml
echo "==> pytest"
# In parallel with pytest-xdist, two processes by default (FACEDIAG_TEST_WORKERS: a number, auto, or 0 for one
# process): each has its own PostgreSQL test database and Redis database (facediag_site/test_settings.py).
exec .venv/bin/python -m pytest -n "${FACEDIAG_TEST_WORKERS:-2}" "$@"
