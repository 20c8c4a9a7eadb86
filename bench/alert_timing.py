"""How long until an operator is told: a model that fails every scan, a worker outage and drift, each measured
with a real Prometheus evaluating the project's alert rules (issue 31).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/facediag REDIS_URL=redis://127.0.0.1:6379/6 \\
        python bench/alert_timing.py [--scenarios BAC] [--outage-minutes 6] [--upload-every 15] [--tail-minutes 12]

Real processes, started here: gunicorn (``-c gunicorn.conf.py``, one worker), a Celery worker (concurrency 1,
its metrics endpoint on a free port), Celery beat, and ``/usr/bin/prometheus`` with its own configuration
in a temporary folder: scrape and evaluation every ``--interval`` seconds (5 by default; the shipped
compose file scrapes every 15 s and evaluates every 30 s), both jobs (facediag-web, facediag-worker) with the
bearer token, and the shipped rule files ``monitoring/prometheus/rules/*.yml`` loaded unchanged, their
``for:`` durations and the recording group's own ``interval: 30s`` included. No Alertmanager: an alert
counts from when Prometheus's ``/api/v1/alerts`` says "firing" (Alertmanager's ``group_wait`` comes on top).
Production settings (DJANGO_DEBUG=1, a throwaway secret key) on a throwaway PostgreSQL database
(``<name>_bench_alerts``, created and dropped), Redis database flushed at start, photos in a temporary
folder, the upload throttle raised (THROTTLE_UPLOADS=1000/hour) so that one account can keep uploading.
The shipped model (ml/artifacts/vgg16-skin-v6.1). Uploads go through the API (``POST /api/v1/scans/``),
one every ``--upload-every`` seconds, from start to end.

A. Broken model: a copy of the shipped model whose ``max_feature_distance`` threshold is not a number (it
   loads and passes its file checks, then raises TypeError on every photo, as diagnosis/tests/
   test_model_health.py breaks a model) is registered and activated (``manage.py register_model --activate``).
   From that command's exit: seconds until ``/healthz/`` answers 503 naming the model, until
   FaceDiagModelFailing fires. Then ``manage.py rollback_model``: seconds until every scan the broken model
   failed is done, and until the alert is resolved.
B. Worker outage: the worker is stopped (SIGTERM, as a container stop; web and beat keep running) for
   ``--outage-minutes`` (6 by default; issue 31 speaks of 12). From the stop: when each alert fires, whether
   one paging alert (FaceDiagWorkerDown, FaceDiagNoWorkers, FaceDiagScansWaitingTooLong) fired through the
   whole rest of the outage once the first one fired, the upload answers during it. Then a worker is started:
   seconds until the waiting scans are done.
C. Drift: five weeks of scan results are written to the database directly (review/tests/factories: four
   usual weeks, then a week from "a filter app that darkens the photos"; no photos, no inference: the check
   reads stored results), ``manage.py check_drift`` runs (exit status 1: drift). From its exit: seconds
   until FaceDiagDriftDetected fires.

They run in the order given (B first by default: it starts from a quiet Prometheus). After A's rollback the
run keeps watching for ``--tail-minutes`` (or until only the drift alert is left), to see what fires once the
incidents are over. Every alert state change is logged and listed at the end. About 20 minutes in all.

Prints the CPU model and flags, then the figures; ``ALERT_TIMING <name>=<seconds>`` lines at the end.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from machine import cpu_summary, machine_state

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.infra import free_port  # noqa: E402  (after the path: the repository's own helper)

EMAIL = "alert-bench@example.com"
PASSWORD = "alert bench passphrase 42"
TOKEN = "alert-bench-scrape-token"
PAGING = ("FaceDiagWorkerDown", "FaceDiagNoWorkers", "FaceDiagScansWaitingTooLong")
T0 = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - T0:7.1f} s] {message}", flush=True)


def http(method, url, body=None, headers=None, timeout=30):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def multipart(files):
    boundary = "----facediag-alert-bench"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
             f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n" for name, (filename, data) in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Process:
    """A child process in its own session, its output in a file."""

    def __init__(self, name, argv, env, folder):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = Path(folder) / f"{name}.log"
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, grace=45):
        """SIGTERM to the main process (a Celery worker then stops its pool), then the whole group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class Bench:
    def __init__(self, args, env, tmp):
        self.args, self.env, self.tmp = args, env, Path(tmp)
        self.web_port, self.worker_port, self.prom_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.prom = f"http://127.0.0.1:{self.prom_port}"
        self.access = None
        self.next_upload = 0.0
        self.uploads = []  # (monotonic, status, scan id or None)
        self.seed = 100
        self.alerts = {}  # the latest answer: name -> state
        self.timeline = []  # (seconds since the start, alert, state): every change seen
        self.rolled_back = None
        py = sys.executable
        metrics = self.tmp / "metrics"
        for part in ("web", "worker"):
            (metrics / part).mkdir(parents=True)
        self.worker_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(metrics / "worker"),
                               WORKER_METRICS_PORT=str(self.worker_port), WORKER_METRICS_ADDR="127.0.0.1")
        self.worker = Process("worker", [py, "-m", "celery", "-A", "facediag_site", "worker", "--concurrency", "1",
                                         "--loglevel", "INFO"], self.worker_env, tmp)
        self.beat = Process("beat", [py, "-m", "celery", "-A", "facediag_site", "beat", "--loglevel", "INFO",
                                     "--schedule", str(self.tmp / "celerybeat-schedule")], env, tmp)
        gunicorn = Path(py).parent / "gunicorn"
        self.web = Process("web", [str(gunicorn), "-c", "gunicorn.conf.py", "facediag_site.wsgi", "--bind",
                                   f"127.0.0.1:{self.web_port}", "--workers", "1", "--timeout", "120"],
                           dict(env, PROMETHEUS_MULTIPROC_DIR=str(metrics / "web")), tmp)
        self.prometheus = Process("prometheus", [
            args.prometheus, f"--config.file={self.write_prometheus_config()}",
            f"--storage.tsdb.path={self.tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.prom_port}",
            "--storage.tsdb.retention.time=2h", "--log.level=warn"], env, tmp)

    def write_prometheus_config(self):
        (self.tmp / "metrics-token").write_text(TOKEN)
        rules = sorted(str(p) for p in (ROOT / "monitoring/prometheus/rules").glob("*.yml"))
        interval = f"{self.args.interval}s"
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": rules,
            "scrape_configs": [
                {"job_name": job, "metrics_path": "/metrics", "scrape_timeout": interval,
                 "authorization": {"type": "Bearer", "credentials_file": str(self.tmp / "metrics-token")},
                 "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                for job, port in (("facediag-web", self.web_port), ("facediag-worker", self.worker_port))
            ],
        }
        path = self.tmp / "prometheus.yml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        check = subprocess.run([self.args.promtool, "check", "config", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        return path

    # --- the product ------------------------------------------------------------------------------------------

    def manage(self, *argv, check=True):
        done = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=self.env, capture_output=True,
                              text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def start_worker(self):
        started = time.monotonic()
        offset = len(self.worker.log()) if self.worker.log_path.exists() else 0
        self.worker.start()
        while " ready." not in self.worker.log()[offset:]:
            assert self.worker.proc.poll() is None, self.worker.log()[-4000:]
            assert time.monotonic() - started < 300, "the worker was not ready in 300 s"
            self.tick(0.5)
        return time.monotonic() - started

    def wait_web(self):
        deadline = time.monotonic() + 120
        while True:
            assert self.web.proc.poll() is None, self.web.log()[-4000:]
            try:
                if http("GET", f"{self.base}/healthz/?live=1", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, self.web.log()[-4000:]
            time.sleep(0.5)

    def wait_prometheus(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                if http("GET", f"{self.prom}/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            assert self.prometheus.proc.poll() is None, self.prometheus.log()[-4000:]
            assert time.monotonic() < deadline, self.prometheus.log()[-4000:]
            time.sleep(0.5)

    def login(self):
        status, body = http("POST", f"{self.base}/api/v1/auth/token/",
                            json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
                            {"Content-Type": "application/json"})
        assert status == 200, body
        self.access = json.loads(body)["access"]

    def upload(self):
        from tests.support import face_like_jpeg

        self.seed += 1
        form, content_type = multipart({"image": ("face.jpg", face_like_jpeg(size=(480, 480), seed=self.seed))})
        for _ in range(2):
            if self.access is None:
                self.login()
            try:
                status, body = http("POST", f"{self.base}/api/v1/scans/", form,
                                    {"Authorization": f"Bearer {self.access}", "Content-Type": content_type})
            except OSError as exc:
                status, body = f"error {exc}", b""
            if status != 401:
                break
            self.access = None
        scan_id = json.loads(body).get("id") if status == 202 else None
        self.uploads.append((time.monotonic(), status, scan_id))
        return status, scan_id

    def scan_states(self, ids):
        from diagnosis.models import Scan

        return dict(Scan.objects.filter(id__in=ids).values_list("id", "status"))

    def waiting(self):
        from diagnosis.models import Scan

        return Scan.objects.filter(status__in=[Scan.Status.QUEUED, Scan.Status.ANALYSING]).count()

    def healthz(self):
        try:
            status, body = http("GET", f"{self.base}/healthz/", timeout=10)
            return status, json.loads(body)
        except (OSError, ValueError) as exc:
            return None, {"error": str(exc)}

    # --- Prometheus ---------------------------------------------------------------------------------------------

    def poll_alerts(self):
        try:
            status, body = http("GET", f"{self.prom}/api/v1/alerts", timeout=5)
        except OSError:
            return self.alerts
        if status == 200:
            alerts = {a["labels"]["alertname"]: a["state"] for a in json.loads(body)["data"]["alerts"]}
            for name in sorted(set(alerts) | set(self.alerts)):
                if alerts.get(name) != self.alerts.get(name):
                    self.timeline.append((time.monotonic() - T0, name, alerts.get(name, "inactive")))
                    log(f"alert {name}: {self.alerts.get(name, 'inactive')} -> {alerts.get(name, 'inactive')}")
            self.alerts = alerts
        return self.alerts

    def targets_up(self):
        try:
            status, body = http("GET", f"{self.prom}/api/v1/targets", timeout=5)
        except OSError:
            return False
        targets = json.loads(body)["data"]["activeTargets"] if status == 200 else []
        return len(targets) == 2 and all(t["health"] == "up" for t in targets)

    def tick(self, seconds):
        """Upload when one is due, then sleep ``seconds``."""
        now = time.monotonic()
        if self.args.upload_every and now >= self.next_upload:
            self.next_upload = now + self.args.upload_every
            self.upload()
        time.sleep(seconds)

    def watch(self, until, timeout, every=1.0):
        """Tick and read the alerts until ``until(alerts)`` is true; seconds waited, or None at ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if until(self.poll_alerts()):
                return time.monotonic() - started
            self.tick(every)
        return None

    def wait_for_queue_empty(self, timeout=600):
        started = time.monotonic()
        saved, self.args.upload_every = self.args.upload_every, 0
        try:
            while self.waiting():
                assert time.monotonic() - started < timeout, "scans still waiting"
                self.tick(1)
        finally:
            self.args.upload_every = saved
        return time.monotonic() - started

    # --- scenarios ----------------------------------------------------------------------------------------------

    def broken_model(self):
        from ml.core import artifact
        from ml.core.artifact import SHIPPED_MODEL_DIR

        meta, trained, extra = artifact.load(SHIPPED_MODEL_DIR)
        meta = {key: value for key, value in meta.items() if key != "weights_sha256"}
        meta.update(name="vgg16-skin-v6.1-broken", thresholds={**meta["thresholds"], "max_feature_distance": "oops"})
        out = self.tmp / "broken-model"
        artifact.save(out, trained, meta, extra_arrays=extra)
        for name in ("lesions.json", "lesions.npz"):  # the lesion head, as shipped
            if (SHIPPED_MODEL_DIR / name).exists() and not (out / name).exists():
                shutil.copy(SHIPPED_MODEL_DIR / name, out / name)
        return out

    def scenario_a(self, figures):
        from diagnosis.models import Scan

        broken = self.broken_model()
        log("A: activating the broken model")
        self.manage("register_model", str(broken), "--activate", "--reason", "alert bench: a broken model")
        activated = time.monotonic()
        log("A: activated")
        healthz_s = healthz_body = None
        firing_s = pending_s = None
        while time.monotonic() - activated < 600 and (healthz_s is None or firing_s is None):
            if healthz_s is None:
                status, body = self.healthz()
                if status == 503 and "model" in body.get("down", []):
                    healthz_s, healthz_body = time.monotonic() - activated, body
                    log(f"A: /healthz/ 503: {body['checks']['model']}")
            alerts = self.poll_alerts()
            if pending_s is None and "FaceDiagModelFailing" in alerts:
                pending_s = time.monotonic() - activated
                log("A: FaceDiagModelFailing pending")
            if firing_s is None and alerts.get("FaceDiagModelFailing") == "firing":
                firing_s = time.monotonic() - activated
                log("A: FaceDiagModelFailing firing")
            self.tick(1)
        failed_ids = list(Scan.objects.filter(status=Scan.Status.FAILED, model_version__name=
                                              "vgg16-skin-v6.1-broken").values_list("id", flat=True))
        if not failed_ids:  # a scan failed at inference may not keep the version: every failed scan then
            failed_ids = list(Scan.objects.filter(status=Scan.Status.FAILED).values_list("id", flat=True))
        others = dict(self.alerts)
        log(f"A: rolling back; {len(failed_ids)} scans failed")
        self.manage("rollback_model", "--reason", "alert bench: every scan fails")
        rolled = time.monotonic()
        done_s = resolved_s = None
        requeued = None
        while time.monotonic() - rolled < 600 and (done_s is None or resolved_s is None):
            states = self.scan_states(failed_ids)
            if requeued is None:
                requeued = sum(1 for s in states.values() if s != Scan.Status.FAILED)
            if done_s is None and states and all(s == Scan.Status.DONE for s in states.values()):
                done_s = time.monotonic() - rolled
                log(f"A: the {len(states)} failed scans are done")
            if resolved_s is None and "FaceDiagModelFailing" not in self.poll_alerts():
                resolved_s = time.monotonic() - rolled
                log("A: FaceDiagModelFailing resolved")
            self.tick(1)
        final = self.scan_states(failed_ids)
        figures["A"] = {
            "healthz_503_s": healthz_s, "healthz_model": healthz_body and healthz_body["checks"]["model"],
            "alert_pending_s": pending_s, "alert_firing_s": firing_s, "failed_scans": len(failed_ids),
            "requeued_at_first_look": requeued,
            "after_rollback_done": sum(1 for s in final.values() if s == Scan.Status.DONE),
            "after_rollback_done_s": done_s, "alert_resolved_s": resolved_s,
            "other_alerts_while_failing": {k: v for k, v in others.items() if k != "FaceDiagModelFailing"},
        }
        self.rolled_back = rolled

    def scenario_b(self, figures):
        log(f"B: waiting for the queue to empty ({self.waiting()} waiting)")
        self.wait_for_queue_empty()
        self.watch(lambda alerts: not any(name in alerts for name in PAGING), 300)
        log(f"B: stopping the worker; alerts now {self.alerts}")
        self.worker.stop()
        stopped = time.monotonic()
        log("B: worker stopped")
        outage = self.args.outage_minutes * 60
        first = {}  # name -> (pending_s, firing_s)
        samples = []  # (seconds, any paging alert firing)
        uploads_before = len(self.uploads)
        while (now := time.monotonic()) - stopped < outage:
            alerts = self.poll_alerts()
            t = now - stopped
            for name, state in alerts.items():
                pending, firing = first.get(name, (None, None))
                if pending is None:
                    pending = t
                if firing is None and state == "firing":
                    firing = t
                first[name] = (pending, firing)
            samples.append((t, any(alerts.get(name) == "firing" for name in PAGING)))
            self.tick(2)
        outage_uploads = self.uploads[uploads_before:]
        firsts = [t for t, paging in samples if paging]
        covered = bool(firsts) and all(paging for t, paging in samples if t >= firsts[0])
        gaps = [t for t, paging in samples if firsts and t >= firsts[0] and not paging]
        log("B: starting a worker")
        waiting = self.waiting()
        ready_s = self.start_worker()
        drained_s = self.wait_for_queue_empty()
        cleared_s = self.watch(lambda alerts: not any(name in alerts for name in PAGING), 600)
        statuses = {}
        for _t, status, _id in outage_uploads:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        figures["B"] = {
            "outage_s": outage, "alerts": first, "first_paging_firing_s": firsts[0] if firsts else None,
            "paging_covered_rest_of_outage": covered, "uncovered_samples_s": gaps[:10],
            "uploads_during_outage": statuses, "waiting_at_restart": waiting,
            "worker_ready_s": ready_s, "drained_after_restart_s": drained_s,
            "paging_cleared_after_drain_s": cleared_s,
        }

    def scenario_c(self, figures):
        import numpy as np

        from accounts.models import User
        from ml.selectors import active_version
        from review.tests.factories import add_scans, dark_filter_app, usual

        self.watch(lambda alerts: "FaceDiagDriftDetected" not in alerts, 60)
        rng = np.random.default_rng(7)
        owner, version = User.objects.get(email=EMAIL), active_version()
        add_scans(owner, version, (7.1, 34.9), usual, 4 * 150, rng)
        add_scans(owner, version, (0.1, 6.9), dark_filter_app, 150, rng)
        log("C: running check_drift")
        done = self.manage("check_drift", check=False)
        log(f"C: check_drift exit status {done.returncode}")
        saved, self.args.upload_every = self.args.upload_every, 0
        try:
            firing_s = self.watch(lambda alerts: alerts.get("FaceDiagDriftDetected") == "firing", 300, every=0.5)
        finally:
            self.args.upload_every = saved
        log(f"C: FaceDiagDriftDetected firing after {firing_s} s")
        figures["C"] = {"check_drift_exit": done.returncode, "alert_firing_s": firing_s}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="BAC", help="which, in this order (B first: a clean start)")
    parser.add_argument("--tail-minutes", type=float, default=12.0,
                        help="after the rollback (A), watch the alerts this long or until only drift remains")
    parser.add_argument("--outage-minutes", type=float, default=6.0)
    parser.add_argument("--upload-every", type=float, default=15.0, help="seconds between uploads")
    parser.add_argument("--interval", type=int, default=5, help="Prometheus scrape and evaluation interval, s")
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    parser.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, TSDB)")
    args = parser.parse_args()

    print(machine_state())
    print(cpu_summary())
    version = subprocess.run([args.prometheus, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"prometheus: {version}; scrape and evaluation every {args.interval} s; "
          f"rules: monitoring/prometheus/rules/*.yml as shipped")
    assert os.environ.get("DATABASE_URL", "").startswith("postgres"), "set DATABASE_URL to a PostgreSQL server"
    assert os.environ.get("REDIS_URL"), "set REDIS_URL to a Redis database this run may flush"
    tmp = tempfile.mkdtemp(prefix="facediag-bench-alerts-")
    os.environ.update(DJANGO_SETTINGS_MODULE="facediag_site.settings", DJANGO_READ_DOT_ENV="false",
                      DJANGO_DEBUG="1", DJANGO_SECRET_KEY="alert-bench-secret-key-not-for-production-0123456789",
                      DJANGO_MEDIA_ROOT=f"{tmp}/media", THROTTLE_UPLOADS="1000/hour", METRICS_TOKEN=TOKEN,
                      PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    import redis
    from django.conf import settings
    from django.db import connection

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_bench_alerts"
    old_name = connection.creation.create_test_db(verbosity=0, serialize=False)
    host = f"{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    env = dict(os.environ, DATABASE_URL=f"postgres://{host}/{database['NAME']}")
    from accounts.models import User

    User.objects.create_user(email=EMAIL, password=PASSWORD)
    bench = Bench(args, env, tmp)
    figures = {}
    try:
        bench.manage("register_model", "ml/artifacts/vgg16-skin-v6.1", "--activate-if-none")
        bench.prometheus.start()
        bench.web.start()
        bench.beat.start()
        bench.wait_prometheus()
        bench.wait_web()
        log(f"web up; worker ready in {bench.start_worker():.1f} s")
        status, scan_id = bench.upload()
        log(f"warm-up upload {status}; queue empty after {bench.wait_for_queue_empty():.1f} s")
        up_s = bench.watch(lambda alerts: not alerts and bench.targets_up(), 180)
        log(f"both targets up and no alert after {fmt(up_s)} s")
        for scenario in args.scenarios:
            getattr(bench, f"scenario_{scenario.lower()}")(figures)
        if "A" in args.scenarios and args.tail_minutes:
            log("tail: watching what fires after the rollback")
            bench.watch(lambda alerts: (time.monotonic() - bench.rolled_back > args.tail_minutes * 60
                                        or not set(alerts) - {"FaceDiagDriftDetected"}), args.tail_minutes * 60)
    finally:
        for part in (bench.web, bench.beat, bench.worker, bench.prometheus):
            part.stop(grace=20)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if args.keep:
            print(f"logs and TSDB kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        report(args, figures, bench.timeline)


def fmt(value):
    return "-" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def report(args, figures, timeline):
    print()
    print(machine_state())
    print(f"scrape/evaluation interval {args.interval} s; uploads every {args.upload_every:g} s")
    rows = []
    if "A" in figures:
        a = figures["A"]
        rows += [("A broken model: /healthz/ 503 (model)", a["healthz_503_s"], "from activation"),
                 ("A FaceDiagModelFailing pending", a["alert_pending_s"], "from activation"),
                 ("A FaceDiagModelFailing firing", a["alert_firing_s"], "from activation (for: 1m)"),
                 ("A failed scans done after rollback", a["after_rollback_done_s"],
                  f"{a['after_rollback_done']} of {a['failed_scans']} done"),
                 ("A FaceDiagModelFailing resolved", a["alert_resolved_s"], "from rollback")]
        print(f"A: /healthz/ said: {a['healthz_model']}; other alerts meanwhile: {a['other_alerts_while_failing']}")
    if "B" in figures:
        b = figures["B"]
        for name, (pending, firing) in sorted(b["alerts"].items(), key=lambda kv: kv[1][1] or 1e9):
            rows.append((f"B outage: {name} firing", firing, f"pending at {fmt(pending)} s, from the stop"))
        rows += [("B first paging alert firing", b["first_paging_firing_s"], "from the stop"),
                 ("B new worker ready", b["worker_ready_s"], f"{b['waiting_at_restart']} scans waiting"),
                 ("B queue empty after restart", b["drained_after_restart_s"], "from ready")]
        print(f"B: outage {b['outage_s']:.0f} s; a paging alert fired for the rest of the outage: "
              f"{b['paging_covered_rest_of_outage']} (uncovered samples at {b['uncovered_samples_s']}); "
              f"upload answers during it: {b['uploads_during_outage']}")
    if "C" in figures:
        c = figures["C"]
        rows.append(("C FaceDiagDriftDetected firing", c["alert_firing_s"],
                     f"from check_drift's exit (status {c['check_drift_exit']})"))
    print("every alert state change (seconds since the start):")
    for seconds, name, state in timeline:
        print(f"  {seconds:7.1f}  {name:30} {state}")
    width = max((len(r[0]) for r in rows), default=10)
    print(f"{'figure':{width}}  {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:{width}}  {fmt(seconds):>8}  {note}")
    for name, seconds, _note in rows:
        key = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
        print(f"ALERT_TIMING {key}={fmt(seconds)}")


if __name__ == "__main__":
    main()
