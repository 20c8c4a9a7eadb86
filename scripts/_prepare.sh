#!/usr/bin/env bash
# The run command's preparation (facediag_site.supervise runs it once the embedded Redis answers, so that
# activating the model can queue any waiting scan): migrations, the shipped model, roles, a sample analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

echo "==> migrating the database"
$PY manage.py migrate --noinput
echo "==> registering the shipped model (its VGG16 base is committed under ml/weights/)"
$PY manage.py register_model ml/artifacts/vgg16-skin-v6.1 --activate-if-none
$PY manage.py setup_roles

echo "==> classifying a sample photo with the active model (ml/samples/astronaut_face_close.jpg, public domain)"
started=$(date +%s%N)
if $PY manage.py predict_image ml/samples/astronaut_face_close.jpg; then
  echo "    analysis works: $(( ($(date +%s%N) - started) / 1000000 )) ms, loading the inference runtime and the model included"
else
  echo "WARNING: the sample photo could not be analysed; scans will wait and the pages will say why" >&2
fi
