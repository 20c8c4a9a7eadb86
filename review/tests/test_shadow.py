"""A shadow version runs on the same scans as the active one; its results are stored apart and never served."""

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.tests.helpers import obtain_tokens
from diagnosis import services as scan_services
from diagnosis.models import CONDITIONS, Scan
from diagnosis.tests.factories import make_scan
from ml.services import register_model
from review.models import ModelResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_and_shadow(model_variants, fresh_models):
    active, _ = register_model(model_variants["right"], activate=True)
    shadow, _ = register_model(model_variants["rotated-1"], shadow=True)
    return active, shadow


def test_the_shadow_runs_on_the_same_batch_and_is_stored_apart(user, active_and_shadow):
    active, shadow = active_and_shadow
    scans = [make_scan(user) for _ in range(3)]
    outcomes = scan_services.analyse_scans([(scan.id, f"task-{i}") for i, scan in enumerate(scans)])
    assert outcomes == ["done"] * 3
    for scan in scans:
        scan.refresh_from_db()
        assert scan.model_version == active and scan.label in CONDITIONS
        served = ModelResult.objects.get(scan=scan, kind="served")
        assert (served.model_version, served.label, served.probabilities) == (active, scan.label, scan.probabilities)
        assert served.tone != "" and served.feature_distance is not None
        apart = ModelResult.objects.get(scan=scan, kind="shadow")
        assert apart.model_version == shadow
        # the rotated copy answers CLASSES[i - 1] where the active one answers CLASSES[i]
        assert apart.label == CONDITIONS[(CONDITIONS.index(scan.label) - 1) % 4]
        assert apart.probabilities != scan.probabilities


def test_the_owner_the_api_and_reviewers_see_only_the_active_result(user, client, reviewer, active_and_shadow):
    active, shadow = active_and_shadow
    scan = make_scan(user)
    assert scan_services.analyse_scan(scan.id) == "done"
    scan.refresh_from_db()
    apart = ModelResult.objects.get(scan=scan, kind="shadow")
    assert apart.label != scan.label

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {obtain_tokens(api, user.email)['access']}")
    body = api.get(reverse("api:scan-detail", args=[scan.id])).json()
    assert body["label"] == scan.label and body["model_version"] == active.name
    listing = api.get(reverse("api:scan-list")).content.decode()
    client.force_login(user)
    page = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    history = client.get(reverse("diagnosis:history")).content.decode()
    client.force_login(reviewer)
    review_page = client.get(reverse("review:review-scan", args=[scan.id])).content.decode()
    queue = client.get(reverse("review:queue")).content.decode()
    for text in (str(body), listing, page, history, review_page, queue):
        assert shadow.name not in text
    assert active.name in review_page


def test_a_shadow_that_cannot_load_never_fails_or_holds_a_scan(user, model_variants, tmp_path, fresh_models, caplog):
    import shutil

    register_model(model_variants["right"], activate=True)
    broken = tmp_path / "broken"
    shutil.copytree(model_variants["rotated-1"], broken)
    shadow, _ = register_model(broken, shadow=True)
    (broken / "model.npz").write_bytes(b"not weights any more")
    scan = make_scan(user)
    with caplog.at_level(logging.WARNING, logger="diagnosis.services.shadow"):
        assert scan_services.analyse_scan(scan.id) == "done"
    assert Scan.objects.get(id=scan.id).status == "done"
    assert not ModelResult.objects.filter(kind="shadow").exists()
    assert ModelResult.objects.filter(kind="served", scan=scan).exists()
    assert f"shadow model not run: model version {shadow.name!r} cannot be loaded" in caplog.text


def test_without_a_shadow_only_the_served_result_is_kept(user, model_variants, fresh_models):
    register_model(model_variants["right"], activate=True)
    scan = make_scan(user)
    assert scan_services.analyse_scan(scan.id) == "done"
    assert list(ModelResult.objects.values_list("kind", flat=True)) == ["served"]


def test_deleting_a_scan_deletes_its_results(user, active_and_shadow):
    scan = make_scan(user)
    scan_services.analyse_scan(scan.id)
    assert ModelResult.objects.filter(scan_id=scan.id).count() == 2
    scan_services.delete_scan(scan)
    assert not ModelResult.objects.filter(scan_id=scan.id).exists()


def test_the_shadow_waits_its_turn_when_scans_are_queued(user, active_and_shadow, caplog):
    first, waiting = make_scan(user), make_scan(user)
    with caplog.at_level(logging.INFO, logger="diagnosis.services.shadow"):
        assert scan_services.analyse_scan(first.id) == "done"  # `waiting` is still queued
    assert "shadow model not run on this batch: scans are waiting" in caplog.text
    assert list(ModelResult.objects.filter(scan=first).values_list("kind", flat=True)) == ["served"]
    assert scan_services.analyse_scan(waiting.id) == "done"  # nothing waits now
    assert sorted(ModelResult.objects.filter(scan=waiting).values_list("kind", flat=True)) == ["served", "shadow"]
