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
