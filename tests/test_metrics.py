"""The metrics endpoint (who may read it) and the product's counters and histograms, in-process: the upload
service, the analysis with the tiny model, failures by reason, reviews. (tests/test_operations_live.py does
the same through a real gunicorn and a real worker.)"""

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from diagnosis import services
from diagnosis.models import Scan
from diagnosis.tests.factories import jpeg_upload, make_scan
from facediag_site import metrics
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(response):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


# --- who may read /metrics ---------------------------------------------------------------------------------


def test_metrics_answer_a_local_scraper_whatever_the_host_name(client):
    response = client.get("/metrics", HTTP_HOST="10.1.2.3:8000")  # a pod IP is not an allowed host
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    found = samples(response)
    for name in ("facediag_scans_backlog", "facediag_backlog_limit_seconds", "facediag_model_active",
                 "facediag_queue_length", "facediag_scans_accepted_total"):
        assert (name, ()) in found, name
    assert any(n.startswith("django_http_requests") for n, _ in found)
    assert any(n.startswith("django_db_") for n, _ in found)


@pytest.mark.parametrize("meta", [
    {"REMOTE_ADDR": "10.0.0.4"},
    {"REMOTE_ADDR": "203.0.113.7"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},  # a proxy on this host
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.7"},
    {"REMOTE_ADDR": "::1", "HTTP_FORWARDED": "for=203.0.113.7"},
    {"REMOTE_ADDR": "10.0.0.4", "HTTP_AUTHORIZATION": "Bearer "},  # no token configured: no token works
])
def test_metrics_are_not_public(client, meta):
    response = client.get("/metrics", **meta)
    assert response.status_code == 403 and b"facediag_" not in response.content


def test_a_bearer_token_opens_the_metrics_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    def scrape(authorization):
        return client.get("/metrics", REMOTE_ADDR="10.0.0.4", HTTP_AUTHORIZATION=authorization).status_code

    assert scrape("Bearer s3cret-scrape-token") == 200
    assert scrape("Bearer wrong") == 403
    assert scrape("Basic s3cret-scrape-token") == 403


def test_loopback_can_be_turned_off(client, settings):
    settings.METRICS_ALLOW_LOOPBACK = False
    assert client.get("/metrics").status_code == 403


def test_the_scrape_reports_the_active_model_and_the_waiting_scans(client, active_model, user):
    make_scan(user)
    make_scan(user, status=Scan.Status.ANALYSING)
    make_scan(user, status=Scan.Status.DONE)
    found = samples(client.get("/metrics"))
    assert found[("facediag_model_active", ())] == 1
    assert found[("facediag_active_model_info", (("version", active_model.name),))] == 1
    assert found[("facediag_scans_backlog", ())] == 2


# --- the product's counters ---------------------------------------------------------------------------------


def test_an_accepted_upload_and_refusals_are_counted(user_client, settings):
    def refused():
        return {s.labels["reason"]: s.value for m in REGISTRY.collect() if m.name == "facediag_uploads_refused"
                for s in m.samples if s.name.endswith("_total")}

    accepted, before = value("facediag_scans_accepted_total"), refused()
    assert user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload()}).status_code == 302
    rejected = user_client.post(reverse("diagnosis:upload"), {"image": jpeg_upload(b"GIF89a not really")})
    assert rejected.status_code in (400, 415)
    assert value("facediag_scans_accepted_total") == accepted + 1
    after = refused()
    assert sum(after.values()) == sum(before.values()) + 1
    assert {r for r in after if after[r] != before.get(r, 0)} <= {"corrupt_image", "unsupported_media_type"}


def test_an_analysis_moves_the_result_latency_and_model_stage_metrics(active_model, user):
    scan = make_scan(user, photo=face_like_jpeg(seed=5))
    before = {name: value(name) for name in ("facediag_scan_upload_to_done_seconds_count",
                                             "facediag_scan_queue_wait_seconds_count",
                                             "facediag_analysis_batch_size_count")}
    stages = [m for m in REGISTRY.collect() if m.name in ("facediag_preprocess_seconds", "facediag_inference_seconds")]
    stage_counts = {m.name: sum(s.value for s in m.samples if s.name.endswith("_count")) for m in stages}

    assert services.analyse_scan(scan.id) == "done"
    scan.refresh_from_db()

    assert value("facediag_scans_done_total", label=scan.label, reason=scan.reason) >= 1
    for name, count in before.items():
        assert value(name) == count + 1, name
    runtime = value("facediag_preprocess_seconds_count", runtime="openvino", precision=_precision()) or value(
        "facediag_preprocess_seconds_count", runtime="tensorflow", precision=_precision())
    assert runtime >= 1
    after = {m.name: sum(s.value for s in m.samples if s.name.endswith("_count")) for m in REGISTRY.collect()
             if m.name in stage_counts}
    assert all(after[name] > count for name, count in stage_counts.items()), (stage_counts, after)


def _precision():
    from ml.runtime import get_predictor

    return metrics.precision_label(get_predictor().precision)


def test_failures_are_counted_by_reason(active_model, user):
    from django.core.files.storage import default_storage

    scan = make_scan(user)
    default_storage.delete(scan.first_photo.image.name)
    missing = value("facediag_scans_failed_total", reason="photo_missing")
    assert services.analyse_scan(scan.id) == "failed"
    assert value("facediag_scans_failed_total", reason="photo_missing") == missing + 1


@pytest.mark.parametrize("message, reason", [
    ("Analysis stopped: it crashed the analysis worker repeatedly. Retry, or try another photo.", "crashed_worker"),
    ("The uploaded photo is no longer stored, so it cannot be analysed.", "photo_missing"),
    ("The photo could not be analysed (ValueError). Try another photo.", "inference_error"),
    ("Analysis failed because of a temporary problem on our side. Please retry.", "transient_errors"),
    ("Something new", "other"),
])
def test_failure_messages_map_to_reasons(message, reason):
    assert metrics.failure_reason(message) == reason


def test_the_failure_messages_of_the_pipeline_all_have_a_reason():
    """A new failure message in the pipeline should get its own reason label here (else it reads "other")."""
    import inspect

    from diagnosis import tasks
    from diagnosis.services import analysis

    source = inspect.getsource(analysis) + tasks.TRANSIENT_FAILURE
    for needle, _reason in metrics.FAILURE_REASONS:
        assert needle in source, needle


def test_reviews_are_counted_with_the_version_that_analysed_the_scan(user, other_user, active_model):
    from django.contrib.auth.models import Permission

    from review.services import save_review

    other_user.user_permissions.add(Permission.objects.get(codename="review_scan"))
    scan = make_scan(user, status=Scan.Status.DONE, label="acne", model_version=active_model)
    version = active_model.name
    agreed = value("facediag_reviews_done_total", agreed="true", version=version)
    save_review(scan=scan, reviewer=other_user, label="acne")
    save_review(scan=scan, reviewer=other_user, label="eczema")  # an update is not a new review
    assert value("facediag_reviews_done_total", agreed="true", version=version) == agreed + 1


def test_a_broken_hook_never_breaks_the_work(monkeypatch, user):
    monkeypatch.setattr(metrics.SCANS_ACCEPTED, "inc", lambda *a: 1 / 0)
    scan, created = services.create_scan(owner=user, uploaded_file=jpeg_upload())
    assert created and Scan.objects.filter(pk=scan.pk).exists()


def test_random_http_methods_collapse_into_one_label_value(client):
    """Finding M2 (issue 30): each unknown method name made new series (10,000 gave 157k, a 16.6 MB scrape)."""
    import secrets

    for _ in range(25):
        client.generic(f"X{secrets.token_hex(4).upper()}", "/")
    methods = {dict(labels).get("method") for (name, labels) in samples(client.get("/metrics"))
               if name.startswith("django_http") and "method" in dict(labels)}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH",
                       "<invalid method>"}, methods
    assert "<invalid method>" in methods


def test_the_worker_metrics_port_names_no_server_software(tmp_path, monkeypatch):
    """Finding L5 (issue 30): the worker's metrics port sent `Server: WSGIServer/0.2 CPython/3.11.7`."""
    import http.client
    import socket

    from facediag_site.metrics_export import start_worker_metrics_server

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    server = start_worker_metrics_server(0, "127.0.0.1")
    assert server is not None
    try:
        port = server.server_port
        for path in ("/healthz", "/metrics"):  # the probe's answer, and the 200 a local scraper gets
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200 and response.getheader("Server") is None, response.getheaders()
            connection.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:  # an error http.server answers
            raw.sendall(b"GET / too-many-words HTTP/1.1\r\n\r\n")  # a 400 from http.server itself
            answer = raw.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.") and " 400 " in answer.split("\r\n")[0]
        assert "\r\nserver:" not in answer.lower(), answer
    finally:
        server.shutdown()
        server.server_close()
