"""A broken model is visible within a minute (issue 31): a loadable active model that fails every scan at
inference makes /healthz/ say so from the third failed scan (read from the database, so every web process
agrees), without taking the web out of service (?ready=1); when a good model serves again (a rollback), the
scans it failed are queued again through the retry service, and those refused for their photo are not."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from diagnosis import services
from diagnosis.models import Scan
from diagnosis.results import inference_problem
from diagnosis.selectors import model_serving
from facediag_site import health
from facediag_site.heartbeat import HEARTBEAT_KEY, record_heartbeat
from ml import runtime
from ml.core import artifact
from ml.services import register_model
from ml.tests.synth import skin_image

from .factories import make_scan

pytestmark = pytest.mark.django_db

PHOTO_GONE = "The uploaded photo is no longer stored, so it cannot be analysed."
UNREADABLE = "The photo could not be analysed (UnidentifiedImageError). Try another photo."


@pytest.fixture
def broken_model(tiny_artifact_dir, tmp_path):
    """The tiny model with one threshold that is not a number: it loads and passes every check of its files,
    then raises TypeError on every photo, as a model shipped with a bad metadata edit would."""
    meta, trained, extra = artifact.load(tiny_artifact_dir)
    meta = {key: value for key, value in meta.items() if key != "weights_sha256"}
    meta.update(name="tiny-broken", thresholds={**meta["thresholds"], "max_feature_distance": "oops"})
    artifact.save(tmp_path / "broken", trained, meta, extra_arrays=extra)
    return tmp_path / "broken"


@pytest.fixture(autouse=True)
def _fresh():
    runtime.clear_cache()
    health.clear_pause_cache()
    cache.delete(HEARTBEAT_KEY)
    yield
    runtime.clear_cache()


def _photo(seed):
    out = io.BytesIO()
    Image.fromarray(skin_image("acne", 96, seed=seed)).save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_failing_model_shows_in_healthz_and_its_scans_come_back_after_a_rollback(
        user, active_model, broken_model, client, django_capture_on_commit_callbacks):
    register_model(broken_model, activate=True)  # an emergency swap, or a deploy before issue 31
    record_heartbeat()
    refused = [make_scan(user, status=Scan.Status.FAILED, error=error) for error in (PHOTO_GONE, UNREADABLE)]
    scans = [make_scan(user, photo=_photo(seed)) for seed in range(3)]

    for n, scan in enumerate(scans, start=1):
        assert services.analyse_scan(scan.id) == "failed"  # the worker's own code path, the real model
        answer = client.get(reverse("healthz")).json()
        if n < 3:  # one or two failures are a photo's bad luck, not a broken model
            assert answer["checks"]["model"] == "ok", n
    assert Scan.objects.get(id=scans[0].id).error == "The photo could not be analysed (TypeError). Try another photo."
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["down"] == ["model"]
    assert response.json()["checks"]["model"] == (
        "the active model (tiny-broken) failed 3 of the last 3 scans it analysed (TypeError)")
    ready = client.get(reverse("healthz") + "?ready=1")  # the web keeps serving: uploads still queue
    assert ready.status_code == 200 and ready.json()["checks"]["model"] == "ok"

    with django_capture_on_commit_callbacks(execute=True):
        call_command("rollback_model", "--reason", "every scan fails", stdout=io.StringIO())
    assert client.get(reverse("healthz")).json()["checks"]["model"] == "ok"  # its window starts afresh
    assert set(Scan.objects.filter(id__in=[s.id for s in scans]).values_list("status", "error")) == {("queued", "")}
    assert [Scan.objects.get(id=s.id).error for s in refused] == [PHOTO_GONE, UNREADABLE]  # not the model's doing
    for scan in scans:
        assert services.analyse_scan(scan.id) == "done"
        assert Scan.objects.get(id=scan.id).model_version == active_model


def test_mostly_working_model_is_not_called_failing(user, active_model):
    for _ in range(4):
        make_scan(user, status=Scan.Status.DONE, model_version=active_model)
    for _ in range(3):
        make_scan(user, status=Scan.Status.FAILED)  # inference failures, ValueError
    make_scan(user, status=Scan.Status.FAILED, error=PHOTO_GONE)
    serving = model_serving()
    assert (serving.judged, serving.failed, serving.problem, serving.failing) == (7, 3, "ValueError", False)
    make_scan(user, status=Scan.Status.FAILED)
    assert model_serving().failing  # 4 of 8: half failed


def test_only_the_models_own_failures_count():
    assert inference_problem("The photo could not be analysed (TypeError). Try another photo.") == "TypeError"
    assert inference_problem(UNREADABLE) is None and inference_problem(PHOTO_GONE) is None
    assert inference_problem("") is None
