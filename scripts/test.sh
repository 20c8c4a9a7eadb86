#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and Redis (started here if they are down),
# real Celery worker processes and headless Chromium. Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh"
ensure_venv requirements-dev.txt
ensure_redis 6379
ensure_postgres

if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "WARNING: could not install chromium; browser tests will fail" >&2
fi

echo "==> ruff"
.venv/bin/ruff check .
echo "==> pytest"
exec .venv/bin/python -m pytest "$@"
