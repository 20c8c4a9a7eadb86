"""Log lines: JSON, a request id from the request into the Celery message and every line about the scan,
no e-mail address or token anywhere in a line (message, traceback or extra field)."""

import io
import json
import logging
from logging.config import dictConfig

import pytest
from celery_batches import SimpleRequest
from django.urls import reverse

from facediag_site import logging as request_logging

SCAN_A = "0f8c1a52-2b7e-4d6f-9a51-0e2d3c4b5a61"
SCAN_B = "7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5"


@pytest.fixture
def log_lines(settings):
    """The project's LOGGING, writing to a buffer: returns a function giving the JSON objects so far."""
    stream = io.StringIO()
    config = json.loads(json.dumps(settings.LOGGING, default=str))
    config["handlers"]["console"]["stream"] = stream
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    dictConfig(config)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def test_a_line_is_one_json_object_without_personal_data(log_lines):
    logger = logging.getLogger("facediag.test")
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo0MiwidHlwZSI6ImFjY2VzcyJ9.c2lnbmF0dXJlLXBhcnQtaGVyZQ"
    logger.warning("reset for alice@example.com with token=abcdefghijklmnopqrstu and %s", jwt)
    try:
        raise ValueError(f"bad login bob@example.org Authorization: Bearer {jwt}")
    except ValueError:
        logger.exception("failed for carol@example.net")
    first, second = log_lines()
    assert first["level"] == "WARNING" and first["logger"] == "facediag.test" and first["timestamp"]
    for record in (first, second):
        text = json.dumps(record)
        for secret in ("alice@", "bob@", "carol@", "abcdefghijklmnopqrstu", jwt, "eyJ"):
            assert secret not in text, (secret, text)
    assert "[email]" in first["message"] and "[token]" in first["message"]
    assert "ValueError" in second["exc_info"] and "[email]" in second["exc_info"]


def test_every_request_gets_an_id_that_its_lines_carry(client, log_lines, db):
    response = client.get(reverse("login"))
    generated = response["X-Request-ID"]
    assert len(generated) == 32
    logging.getLogger("facediag.test").info("outside a request")
    assert "request_id" not in log_lines()[-1]

    echoed = client.get(reverse("login"), HTTP_X_REQUEST_ID="mobile-app-7f3a9c21")
    assert echoed["X-Request-ID"] == "mobile-app-7f3a9c21"


@pytest.mark.parametrize("offered", ["short", "has spaces in it ok", "x" * 65, "alice@example.com-123456",
                                     "line\nbreak-12345678", "{json}-12345678"])
def test_a_request_id_that_does_not_look_like_one_is_replaced(client, db, offered):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID=offered)
    assert response["X-Request-ID"] != offered and len(response["X-Request-ID"]) == 32


def test_the_upload_line_carries_the_request_id(user_client, log_lines):
    response = user_client.post(reverse("diagnosis:upload"), {"image": _upload()},
                                HTTP_X_REQUEST_ID="upload-req-00000001")
    assert response.status_code == 302
    uploaded = [r for r in log_lines() if r["message"].endswith(" uploaded (1 photo)")]
    assert uploaded and uploaded[-1]["request_id"] == "upload-req-00000001"
    assert uploaded[-1]["scan_id"] in response["Location"]


def _upload():
    from diagnosis.tests.factories import jpeg_upload

    return jpeg_upload()


def test_the_request_id_goes_into_the_analysis_message():
    headers = {}
    with request_logging.bound_request_id("req-into-celery-01"):
        request_logging.add_request_id_header(headers=headers, body=((SCAN_A,), {}, {}))
    assert headers[request_logging.MESSAGE_HEADER] == "req-into-celery-01"
    untouched = {}
    request_logging.add_request_id_header(headers=untouched, body=((SCAN_A,), {}, {}))  # no request: no header
    assert untouched == {}


def test_the_published_message_really_carries_it(settings):
    """Through Celery's own publishing path (the signal is connected by facediag_site.celery)."""
    from celery import current_app
    from kombu import Connection

    from diagnosis.services.queue import ANALYSIS_TASK

    queue = f"test-request-id-{id(settings)}"
    with request_logging.bound_request_id("req-through-kombu-1"):
        current_app.tasks[ANALYSIS_TASK].apply_async((SCAN_A,), queue=queue)
    with Connection(settings.CELERY_BROKER_URL) as conn:
        simple = conn.SimpleQueue(queue)
        try:
            message = simple.get(timeout=5)
            assert message.headers[request_logging.MESSAGE_HEADER] == "req-through-kombu-1"
            message.ack()
        finally:
            simple.queue.delete()
            simple.close()


def _request(scan_id, request_id):
    headers = {request_logging.MESSAGE_HEADER: request_id} if request_id else {}
    return SimpleRequest(id=f"task-{scan_id[:8]}", name="diagnosis.tasks.analyse_scan", args=[scan_id], kwargs={},
                         delivery_info={}, hostname="w", ignore_result=True, reply_to=None, correlation_id=None,
                         request_dict={"args": [scan_id], **headers})


def test_in_a_batch_each_line_about_a_scan_carries_that_scans_request_id(log_lines):
    logger = logging.getLogger("diagnosis.services.analysis")
    request_logging.bind_batch(args=([_request(SCAN_A, "req-a-000001"), _request(SCAN_B, "req-b-000002")],))
    try:
        logger.info("scan %s done: acne", SCAN_A)
        logger.warning("scan %s: transient error, retry 1 (boom)", SCAN_B)
        logger.info("analysed 2 scan(s) in one batch")
        retry_headers = {}
        request_logging.add_request_id_header(headers=retry_headers, body=((SCAN_B,), {}, {}))
    finally:
        request_logging.unbind_batch()
    logger.info("after the batch")
    a, b, batch, after = log_lines()
    assert (a["request_id"], a["scan_id"]) == ("req-a-000001", SCAN_A)
    assert (b["request_id"], b["scan_id"]) == ("req-b-000002", SCAN_B)
    assert batch["request_ids"] == ["req-a-000001", "req-b-000002"] and "request_id" not in batch
    assert "request_id" not in after and "request_ids" not in after
    assert retry_headers[request_logging.MESSAGE_HEADER] == "req-b-000002"  # a retry keeps the scan's id


def test_a_batch_of_one_stamps_all_its_lines(log_lines):
    request_logging.bind_batch(args=([_request(SCAN_A, "req-alone-0001")],))
    try:
        logging.getLogger("ml.runtime").info("loaded model version v5")
    finally:
        request_logging.unbind_batch()
    (line,) = log_lines()
    assert line["request_id"] == "req-alone-0001" and line["scan_id"] == SCAN_A


def test_plain_format_for_a_terminal(settings):
    stream = io.StringIO()
    config = json.loads(json.dumps(settings.LOGGING, default=str))
    config["handlers"]["console"].update(stream=stream, formatter="plain")
    root = logging.getLogger()
    saved = root.handlers[:]
    dictConfig(config)
    try:
        logging.getLogger("x").warning("to dave@example.com")
    finally:
        root.handlers[:] = saved
    assert stream.getvalue().rstrip().endswith("[] to [email]")


# --- the access line (issue 31, point 5) -----------------------------------------------------------------------


def access_lines(lines):
    return [line for line in lines if line["logger"] == "facediag.access"]


def test_each_request_writes_one_json_access_line_without_the_querys_secrets(client, log_lines, db):
    response = client.get(reverse("login") + "?next=/scans/&token=Qx0123456789abcdef",
                          HTTP_X_REQUEST_ID="req-access-0001")
    (line,) = access_lines(log_lines())
    assert line["level"] == "INFO" and line["request_id"] == "req-access-0001" == response["X-Request-ID"]
    assert (line["method"], line["path"], line["status"]) == ("GET", reverse("login"), 200)
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["query"] == "next=[redacted]&token=[redacted]"
    assert "Qx0123456789abcdef" not in json.dumps(line) and "/scans/" not in json.dumps(line)


def test_a_credential_in_the_path_is_not_in_the_access_line(client, log_lines, db):
    secret = "Sx0123456789abcdef0123"
    client.get(f"/accounts/password/reset/MQ/{secret}/")
    (line,) = access_lines(log_lines())
    assert secret not in json.dumps(line) and "[redacted]" in line["path"]


def test_probes_and_scrapes_are_quiet_at_info_but_a_failing_probe_is_not(client, log_lines, db):
    client.get(reverse("healthz") + "?live=1")
    client.get("/metrics")  # from this host without a proxy header: allowed
    assert access_lines(log_lines()) == []
    failing = client.get(reverse("healthz"))  # no model, no worker here: 503
    assert failing.status_code == 503
    (line,) = log_lines()  # one line: not also django.request's "Service Unavailable: /healthz/"
    assert line["logger"] == "facediag.access" and line["path"] == "/healthz/"
    assert line["status"] == 503 and line["level"] == "WARNING"


def test_probes_are_logged_at_debug(client, settings, db):
    stream = io.StringIO()
    config = json.loads(json.dumps(settings.LOGGING, default=str))
    config["handlers"]["console"]["stream"] = stream
    config["root"]["level"] = "DEBUG"
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    dictConfig(config)
    try:
        client.get(reverse("healthz") + "?live=1")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (line,) = access_lines(lines)
    assert line["level"] == "DEBUG" and line["status"] == 200


def test_an_upload_refused_as_busy_is_one_line(settings, user_client, log_lines):
    from diagnosis import backpressure
    from diagnosis.models import Scan
    from diagnosis.tests.factories import ScanFactory

    settings.SCAN_BACKLOG_LIMIT_SECONDS, settings.SCAN_ANALYSIS_RATE = 5, 1.0
    for _ in range(6):
        ScanFactory(status=Scan.Status.QUEUED, label="", image="", thumbnail="")
    backpressure.clear_cache()
    try:
        log_lines()  # the factories' lines, if any, are not the request's
        before = len(log_lines())
        response = user_client.post(reverse("diagnosis:upload"), {"image": _upload()},
                                    HTTP_X_REQUEST_ID="busy-refusal-0001")
    finally:
        backpressure.clear_cache()
    assert response.status_code == 503
    # django.request writes its "Service Unavailable" after the middleware, without the request id
    lines = [line for line in log_lines()[before:] if line.get("request_id") == "busy-refusal-0001"
             or line["logger"] == "django.request"]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["status"] == 503 and line["retry_after"] == response["Retry-After"] and line["method"] == "POST"


def test_a_throttled_api_request_is_one_line(client, log_lines, db, settings):
    from django.core.cache import cache

    cache.clear()
    statuses = []
    for n in range(40):  # the token endpoint's per-address limit
        response = client.post("/api/v1/auth/token/", {"email": "nobody@example.com", "password": "wrong"},
                               content_type="application/json", HTTP_X_REQUEST_ID=f"throttle-test-{n:04d}")
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    cache.clear()
    assert statuses[-1] == 429, statuses
    lines = [line for line in log_lines() if line.get("request_id") == f"throttle-test-{len(statuses) - 1:04d}"]
    assert [(line["logger"], line["status"]) for line in lines] == [("facediag.access", 429)], lines
    assert "nobody@" not in json.dumps(lines)


# --- Celery's own lines ---------------------------------------------------------------------------------------

TASK_ID = "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912"


def test_celerys_task_id_goes_under_task_id_not_scan_id(log_lines):
    from celery.app import trace

    context = {"id": TASK_ID, "name": "reminders.tasks.send_due_reminders", "return_value": "3",
               "runtime": 0.0123, "args": "()", "kwargs": "{}"}
    logging.getLogger("celery.app.trace").info(trace.LOG_SUCCESS, context, extra={"data": context})
    (line,) = log_lines()
    assert line["task_id"] == TASK_ID and line["task"] == "reminders.tasks.send_due_reminders"
    assert "scan_id" not in line and "data" not in line and line["runtime_s"] == 0.012


def test_a_task_line_about_a_scan_keeps_both_ids(log_lines):
    context = {"id": TASK_ID, "name": "diagnosis.tasks.analyse_scan"}
    logging.getLogger("celery.worker.strategy").info("Task %(name)s[%(id)s] received (scan %(scan)s)",
                                                      {**context, "scan": SCAN_A}, extra={"data": context})
    (line,) = log_lines()
    assert line["task_id"] == TASK_ID and line["scan_id"] == SCAN_A


def test_the_sweepers_routine_lines_stay_out_of_the_console(log_lines):
    """Beat sends the sweeper every SCAN_SWEEP_INTERVAL_SECONDS; when it found nothing, nothing is written.
    What it did (its own line) and its failures are."""
    from celery.app import trace

    sweeper = "diagnosis.tasks.requeue_stuck_scans"
    context = {"id": TASK_ID, "name": sweeper, "return_value": "(0, 0)", "runtime": 0.01}
    logging.getLogger("celery.beat").info("Scheduler: Sending due task requeue-stuck-scans (%s)", sweeper)
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context, extra={"data": context})
    logging.getLogger("celery.app.trace").info(trace.LOG_SUCCESS, context, extra={"data": context})
    assert log_lines() == []
    logging.getLogger("diagnosis.services.retention").info("sweeper: %d stuck scans, %d re-queued", 2, 2)
    logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised unexpected: %(exc)s",
                                                {**context, "exc": "OperationalError()"}, extra={"data": context})
    did, failed = log_lines()
    assert did["message"] == "sweeper: 2 stuck scans, 2 re-queued"
    assert failed["level"] == "ERROR" and failed["task_id"] == TASK_ID
    # Other tasks' lines are kept.
    logging.getLogger("celery.beat").info("Scheduler: Sending due task check-drift (review.tasks.check_drift)")
    assert log_lines()[-1]["message"].startswith("Scheduler: Sending due task check-drift")
