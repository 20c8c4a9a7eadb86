#!/usr/bin/env bash
# Runs FaceDiag on this machine: web (gunicorn) + a Celery worker with beat, SQLite and an
# embedded filesystem broker by default (set DATABASE_URL / REDIS_URL to use PostgreSQL / Redis).
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

echo "==> migrating the database"
$PY manage.py migrate --noinput
echo "==> registering the shipped model (its VGG16 base is committed under ml/weights/)"
$PY manage.py register_model ml/artifacts/vgg16-skin-v6.1 --activate
$PY manage.py setup_roles

echo "==> classifying a sample photo with the active model (ml/samples/astronaut_face.jpg, public domain)"
started=$(date +%s%N)
if $PY manage.py predict_image ml/samples/astronaut_face.jpg; then
  echo "    analysis works: $(( ($(date +%s%N) - started) / 1000000 )) ms, loading the inference runtime and the model included"
else
  echo "WARNING: the sample photo could not be analysed; scans will wait and the pages will say why" >&2
fi

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
# Metrics (Prometheus format, readable from this host): every web process writes to var/metrics/web, the
# worker's to var/metrics/worker; emptied at each start. http://127.0.0.1:$PORT/metrics and :9808/metrics.
rm -rf var/metrics && mkdir -p var/metrics/web var/metrics/worker
echo "==> starting the Celery worker (with beat)"
PROMETHEUS_MULTIPROC_DIR="$ROOT/var/metrics/worker" WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9808}" \
  WORKER_METRICS_ADDR=127.0.0.1 \
  .venv/bin/celery -A facediag_site worker -B --concurrency "${WORKER_CONCURRENCY:-1}" --loglevel INFO \
  --schedule var/celerybeat-schedule &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null; wait $WORKER_PID 2>/dev/null' EXIT INT TERM

grep -q '^EMAIL_URL=filemail' .env 2>/dev/null && echo "==> e-mails (sign-in links, password resets, reminders) are written to var/mail/"
echo "==> FaceDiag is at http://$HOST:$PORT/  (Ctrl-C stops web and worker)"
PROMETHEUS_MULTIPROC_DIR="$ROOT/var/metrics/web" \
  .venv/bin/gunicorn -c gunicorn.conf.py facediag_site.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}"
