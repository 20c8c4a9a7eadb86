"""Operations end to end: a real gunicorn web (two processes) and a real Celery worker, one scan through
the API, and what an operator sees afterwards: both scraped metrics endpoints moved, and the scan's
request id on every log line about it, in the web's log and the worker's, with no e-mail address."""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.infra import free_port
from tests.support import face_like_jpeg
from tests.worker import ROOT, WorkerProcess, flush_broker, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAIL = "ops-live@example.com"
PASSWORD = "correct horse battery staple 42"
REQUEST_ID = "ops-live-request-0001"


def http(method, url, body=None, headers=None, timeout=30):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def scrape(url, token=None):
    """{(name, frozenset(labels)): value} of every sample at ``url``."""
    status, _headers, body = http("GET", url, headers={"Authorization": f"Bearer {token}"} if token else {})
    assert status == 200, body[:300]
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def total(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def multipart(fields, files):
    boundary = "----facediag-ops-live"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Gunicorn:
    def __init__(self, log_path, port, **env):
        self.log_path, self.port = Path(log_path), port
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "facediag_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--timeout", "120"],
            cwd=ROOT, env=worker_env(**env), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()[-3000:]
            try:
                if http("GET", f"http://127.0.0.1:{self.port}/healthz/?live=1", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"gunicorn not up:\n{self.log()[-3000:]}")

    def stop(self):
        import os
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def json_lines(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_scan_through_real_web_and_worker_moves_the_scraped_metrics_and_keeps_its_request_id(
    active_model, django_user_model, tmp_path
):
    django_user_model.objects.create_user(email=EMAIL, password=PASSWORD)
    flush_broker()
    token = "scrape-token-for-the-live-test"
    web_dir, worker_dir = tmp_path / "metrics-web", tmp_path / "metrics-worker"
    web_dir.mkdir()
    worker_dir.mkdir()
    worker_port = free_port()
    worker = WorkerProcess(tmp_path / "worker.log", PROMETHEUS_MULTIPROC_DIR=worker_dir,
                           WORKER_METRICS_PORT=worker_port, WORKER_METRICS_ADDR="127.0.0.1", METRICS_TOKEN=token)
    web = Gunicorn(tmp_path / "web.log", free_port(), PROMETHEUS_MULTIPROC_DIR=web_dir, METRICS_TOKEN=token)
    try:
        worker.wait_ready()
        web.wait_ready()
        base = f"http://127.0.0.1:{web.port}"
        worker_metrics = f"http://127.0.0.1:{worker_port}/metrics"
        web_before, worker_before = scrape(f"{base}/metrics"), scrape(worker_metrics)

        status, _h, body = http("POST", f"{base}/api/v1/auth/token/",
                                json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
                                {"Content-Type": "application/json"})
        assert status == 200, body
        access = json.loads(body)["access"]
        form, content_type = multipart({"note": "ops"}, {"image": ("face.jpg", face_like_jpeg(seed=11))})
        status, headers, body = http("POST", f"{base}/api/v1/scans/", form, {
            "Authorization": f"Bearer {access}", "Content-Type": content_type, "X-Request-ID": REQUEST_ID})
        assert status == 202, body
        assert headers.get("X-Request-ID") == REQUEST_ID
        scan_id = json.loads(body)["id"]

        deadline = time.monotonic() + 180
        while True:
            status, _h, body = http("GET", f"{base}/api/v1/scans/{scan_id}/",
                                    headers={"Authorization": f"Bearer {access}"})
            result = json.loads(body)
            if result["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.3)
        assert result["status"] == "done", (result, worker.log()[-3000:])

        web_after = scrape(f"{base}/metrics")
        worker_after = scrape(worker_metrics, token=token)  # the token works too
        label = result["label"]

        # The web's processes: the upload and the requests, whichever gunicorn process served them.
        accepted = "facediag_scans_accepted_total"
        assert total(web_after, accepted) == total(web_before, accepted) + 1
        assert (total(web_after, "django_http_requests_total_by_method_total", method="POST")
                > total(web_before, "django_http_requests_total_by_method_total", method="POST"))
        assert total(web_after, "django_db_execute_total") > total(web_before, "django_db_execute_total")
        assert total(web_after, "facediag_model_active") == 1
        assert total(web_after, "facediag_active_model_info", version=active_model.name) == 1
        assert ("facediag_scans_backlog", frozenset()) in web_after

        # The worker's pool process: the result, its latencies, the model's stages, the batch.
        for name, labels in [("facediag_scans_done_total", {"label": label}),
                             ("facediag_scan_upload_to_done_seconds_count", {}),
                             ("facediag_scan_queue_wait_seconds_count", {}),
                             ("facediag_analysis_batch_size_count", {}),
                             ("facediag_preprocess_seconds_count", {})]:
            assert total(worker_after, name, **labels) == total(worker_before, name, **labels) + 1, name
        assert total(worker_after, "facediag_inference_seconds_count") > total(worker_before,
                                                                                "facediag_inference_seconds_count")
        assert total(worker_after, "facediag_scan_upload_to_done_seconds_sum") > 0
        runtimes = {dict(ls).get("runtime") for (n, ls) in worker_after if n == "facediag_inference_seconds_count"}
        assert runtimes - {None}, "inference time carries the runtime"

        # CPU and memory of every process (issue 31): multiprocess mode's shared files carry none; the scrape reads
        # /proc for each process of the folder. gunicorn's master and its worker; the Celery main and pool process.
        for samples, at_least in ((web_after, 2), (worker_after, 2)):
            memory = {dict(ls)["pid"]: v for (n, ls), v in samples.items() if n == "process_resident_memory_bytes"}
            assert len(memory) >= at_least and all(v > 10 * 2**20 for v in memory.values()), memory
            assert total(samples, "process_cpu_seconds_total") > 0
        # the pool process that ran the model holds it: hundreds of MB
        assert max(v for (n, _ls), v in worker_after.items() if n == "process_resident_memory_bytes") > 200 * 2**20

        # Not public: a request that came through a proxy is refused, at the web and at the worker.
        assert http("GET", f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})[0] == 403
        assert http("GET", worker_metrics, headers={"X-Forwarded-For": "203.0.113.9"})[0] == 403

        # Logs: JSON lines; the upload's request id on the web's line and on the worker's line about the scan.
        time.sleep(0.5)
        web_lines, worker_lines = json_lines(web.log()), json_lines(worker.log())
        # (the access lines of the page's polls name the scan too, under their own requests' ids)
        about_web = [r for r in web_lines if scan_id in r.get("message", "") and r.get("logger") != "facediag.access"]
        about_worker = [r for r in worker_lines if scan_id in r.get("message", "")]
        assert about_web and about_worker, (web.log()[-2000:], worker.log()[-2000:])
        assert all(r.get("request_id") == REQUEST_ID for r in about_web + about_worker), about_web + about_worker
        assert any(re.search(r"scan \S+ done", r["message"]) for r in about_worker)
        # The upload's own access line (issue 31): JSON, under its request id, the path without the query.
        (upload_line,) = [r for r in web_lines
                          if r.get("logger") == "facediag.access" and r.get("request_id") == REQUEST_ID]
        assert (upload_line["method"], upload_line["path"], upload_line["status"]) == ("POST", "/api/v1/scans/", 202)
        assert upload_line["duration_ms"] > 0
        for text in (web.log(), worker.log()):
            assert EMAIL not in text and access not in text
    finally:
        web.stop()
        worker.discard()
