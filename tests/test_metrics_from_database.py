"""Issue 31: what the database knows (the active model's health, the oldest waiting scan's age, the latest
drift check and its age) is read at scrape time by the web's /metrics and reaches Prometheus in
prometheus-client's multiprocess mode, which compose and Kubernetes run (in that mode a scrape reads only the
shared metric files: the drift gauges, registered in one process's registry, were absent)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from diagnosis.models import Scan
from diagnosis.tests.factories import make_scan
from review.models import DriftReport

pytestmark = pytest.mark.django_db


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


@pytest.fixture
def multiprocess_mode(tmp_path, monkeypatch):
    """What gunicorn and the Celery pool run with: PROMETHEUS_MULTIPROC_DIR, a folder of shared files."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))


def test_model_health_waiting_and_drift_are_scraped_in_multiprocess_mode(client, multiprocess_mode, user,
                                                                         active_model):
    for _ in range(3):
        make_scan(user, status=Scan.Status.FAILED)  # failed at inference (ValueError), under the active model
    make_scan(user, status=Scan.Status.DONE, model_version=active_model)
    waiting = make_scan(user)
    Scan.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=7))
    report = DriftReport.objects.create(
        baseline_start=timezone.now(), recent_start=timezone.now(), recent_end=timezone.now(), baseline_n=600,
        recent_n=150, alpha=0.01, drifted=True,
        checks=[{"name": "confidence", "ran": True, "drifted": True}, {"name": "quality: blurry", "ran": True,
                                                                       "drifted": False}])
    DriftReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - timedelta(hours=3))

    found = scrape(client)
    assert found[("facediag_model_failing", ())] == 1
    assert found[("facediag_model_recent_scans", (("outcome", "inference_failed"),))] == 3
    assert found[("facediag_model_recent_scans", (("outcome", "result"),))] == 1
    assert 7 * 60 <= found[("facediag_oldest_waiting_scan_age_seconds", ())] < 8 * 60
    assert found[("facediag_drift_detected", ())] == 1
    assert found[("facediag_drift_check_drifted", (("check", "confidence"),))] == 1
    assert found[("facediag_drift_checks_run", ())] == 2
    assert 3 * 3600 <= found[("facediag_drift_report_age_seconds", ())] < 3 * 3600 + 60


def test_a_quiet_service_reads_zero(client, multiprocess_mode, active_model):
    found = scrape(client)
    assert found[("facediag_model_failing", ())] == 0
    assert found[("facediag_oldest_waiting_scan_age_seconds", ())] == 0
    assert ("facediag_drift_detected", ()) not in found  # no check ran yet: FaceDiagDriftCheckStale watches


def test_every_series_appears_once_without_multiprocess_mode(client, active_model):
    """The drift collector is no longer in the default registry too: one scrape, one of each series."""
    body = client.get("/metrics").content.decode()
    assert body.count("# TYPE facediag_model_failing gauge") == 1
    assert body.count("# TYPE facediag_drift_detected gauge") <= 1


# --- issue 31, point 10: the model versions, reviewer agreement by version, the shadow, the processes ------------


def test_the_serving_versions_and_each_versions_reviewer_agreement_are_scraped(client, multiprocess_mode, user,
                                                                             other_user, active_model):
    from ml.tests.factories import ModelVersionFactory
    from review.measures import wilson
    from review.models import ModelResult, Review

    shadow = ModelVersionFactory(name="vgg16-shadow-test", shadow=True)
    labels = ["acne"] * 27 + ["eczema"] * 3  # served on 30 scans
    truths = ["acne"] * 27 + ["acne"] * 2 + ["unusable"]  # the reviewer agreed on 27
    shadow_labels = ["acne"] * 29 + ["uncertain"]  # the shadow: right on 29 of the reviewed, abstains on the last
    for label, truth, shadow_label in zip(labels, truths, shadow_labels, strict=True):
        scan = make_scan(user, status=Scan.Status.DONE, label=label, model_version=active_model)
        Review.objects.create(scan=scan, reviewer=other_user, label=truth, model_label=label)
        ModelResult.objects.create(scan=scan, model_version=shadow, kind=ModelResult.Kind.SHADOW, label=shadow_label,
                                   top_probability=0.8)
    unreviewed = make_scan(user, status=Scan.Status.DONE, label="rosacea", model_version=active_model)
    ModelResult.objects.create(scan=unreviewed, model_version=shadow, kind=ModelResult.Kind.SHADOW, label="acne",
                               top_probability=0.8)

    found = scrape(client)
    assert found[("facediag_model_info", (("role", "active"), ("version", active_model.name)))] == 1
    assert found[("facediag_model_info", (("role", "shadow"), ("version", shadow.name)))] == 1
    served = (("kind", "served"), ("version", active_model.name))
    assert found[("facediag_model_reviews", (("agreed", "true"), *served))] == 27
    assert found[("facediag_model_reviews", (("agreed", "false"), *served))] == 3
    assert found[("facediag_model_reviewer_agreement_ratio", served)] == pytest.approx(0.9)
    low, high = wilson(27, 30)
    assert found[("facediag_model_reviewer_agreement_lower", served)] == pytest.approx(low)
    assert found[("facediag_model_reviewer_agreement_upper", served)] == pytest.approx(high)
    in_shadow = (("kind", "shadow"), ("version", shadow.name))
    assert found[("facediag_model_reviewer_agreement_ratio", in_shadow)] == pytest.approx(29 / 30)
    assert found[("facediag_shadow_results", (("version", shadow.name),))] == 31
    # the same label as served on 27 reviewed scans (acne/acne), not on the 3 eczema, the abstention, the rosacea
    assert found[("facediag_shadow_agreement_with_served_ratio", (("version", shadow.name),))] == pytest.approx(
        27 / 31)


def test_every_process_of_the_container_reports_its_cpu_and_memory(client, multiprocess_mode, tmp_path):
    """In multiprocess mode the scrape read only the shared files: no process_* series at all. Now each live
    process that writes into the folder (a gunicorn worker, a pool process) and the one answering has its own."""
    import os
    import subprocess
    import sys
    import time

    child = subprocess.Popen(
        [sys.executable, "-c", "from prometheus_client import Counter; Counter('facediag_test_child', 'x').inc(); "
                               "import sys; print('ready', flush=True); sys.stdin.read()"],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        found = scrape(client)
        for pid in (os.getpid(), child.pid):
            label = (("pid", str(pid)),)
            assert found[("process_resident_memory_bytes", label)] > 10 * 2**20, pid
            assert found[("process_cpu_seconds_total", label)] > 0, pid
            assert found[("process_open_fds", label)] >= 3
            assert time.time() - 3600 < found[("process_start_time_seconds", label)] <= time.time() + 1
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    after = scrape(client)
    assert ("process_resident_memory_bytes", (("pid", str(child.pid)),)) not in after  # a process gone is dropped
