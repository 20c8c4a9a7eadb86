"""Load test: N concurrent users against gunicorn + a Celery worker + PostgreSQL + Redis, all on
this machine and all on loopback (127.0.0.1).

Usage: python bench/load.py [--users 50] [--duration 60] [--grace 180] [--model ml/artifacts/<name>]

Self-contained: it creates a scratch PostgreSQL database (--db-name, default facediag_load; user
postgres on 127.0.0.1, trust auth), uses Redis database 14 (flushed before and after), a scratch
MEDIA_ROOT, runs `manage.py migrate`, registers and activates the model (--model; else the shipped
model, ``ml.core.artifact.SHIPPED_MODEL_DIR``; else the newest artifact in ml/artifacts; else it trains a tiny 32 px
VGG16 on generated images, cached in var/load-bench-tiny-model), creates the users, starts gunicorn
(--web-workers, a free port) and `celery worker --concurrency N`, then runs the users. Upload and
auth throttles and lockouts are raised so they do not get in the way.

Each user (a thread with its own HTTP session, through the JWT API) logs in once (POST
/api/v1/auth/token/; again only if the access token expires, or before every upload with
--login-every-loop) and loops until --duration is up: upload a photo (POST /api/v1/scans/), poll the
scan every 0.5 s until it is done or failed, read the history (GET /api/v1/scans/). With --no-wait a user
uploads the next photo as soon as one is accepted (a flood, as in issue 24's outside test). Then the
script waits at most --grace seconds for the scans still queued, prints the figures and tears everything down
(processes, Redis db, scratch database, media).

Backpressure (diagnosis.backpressure) is on as in production: above SCAN_BACKLOG_LIMIT_SECONDS of
waiting work (--backlog-limit; 0 turns it off) an upload is refused with 503 + Retry-After before anything
is stored, and a user waits Retry-After seconds before trying again, as the apps do. The web and the
worker run with PROMETHEUS_MULTIPROC_DIR (production's metrics path) and the run ends with a scrape of
the web's /metrics.

Figures (the last lines, key=value): requests per second over the user phase; p50/p95 latency of
the upload request; p50/p95 of upload -> done (scan created_at -> completed_at, from the database);
busy refusals and whether every one was clean (503, code "busy", Retry-After, no scan stored); other 5xx
responses; transport errors; scans uploaded / done / failed / not done; lost scans = still queued or
analysing after the grace period; peak memory (RSS, process tree) and CPU seconds of the web and the
worker. Goal: server_errors_5xx=0, lost_scans=0, refusals_clean=True, and with backpressure on
upload -> done p95 below 30 s. With 2 cores and a VGG16 the worker is the bottleneck: without backpressure
50 users each keep one scan in flight, so upload -> done is mostly queueing and grows with --users.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
HOST = "127.0.0.1"  # everything this script talks to is on loopback
PG = "postgresql://postgres@127.0.0.1:5432/{db}"
REDIS_DB = 14
PASSWORD = "load-test-password-7f3a"
TINY_MODEL_CACHE = ROOT / "var" / "load-bench-tiny-model"




def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(values, q):
    return round(percentile(values or [], q) * 1000, 1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- scratch services ---------------------------------------------------------------------------


def pg_admin(sql):
    import psycopg

    with psycopg.connect(PG.format(db="postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def create_database(name):
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{name}"')


def drop_database(name):
    try:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # teardown must go on
        log(f"could not drop database {name}: {exc}")


def flush_redis(url):
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()


def scan_states(db_name):
    """{scan id: (status, seconds from created_at to completed_at or None, completed_at epoch or None)}."""
    import psycopg

    with psycopg.connect(PG.format(db=db_name), connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT id::text, status, EXTRACT(EPOCH FROM (completed_at - created_at)), EXTRACT(EPOCH FROM completed_at)"
            " FROM diagnosis_scan"
        ).fetchall()
    return {r[0]: (r[1], *(float(v) if v is not None else None for v in r[2:4])) for r in rows}


class Service:
    """A subprocess in its own session, its output in a log file; stopped by process group."""

    def __init__(self, name, args, env, log_path):
        self.name, self.log_path = name, log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def text(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


def manage(env, *args, timeout=600):
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def find_model(arg):
    if arg:
        return Path(arg)
    from ml.core.artifact import SHIPPED_MODEL_DIR as shipped

    if (shipped / "metadata.json").exists():
        return shipped
    found = sorted((ROOT / "ml" / "artifacts").glob("*/metadata.json"), key=lambda p: p.stat().st_mtime)
    if found:
        return found[-1].parent
    return None


def tiny_model(env):
    """A small but real VGG16-architecture model (32 px input) trained on generated images, cached."""
    if (TINY_MODEL_CACHE / "metadata.json").exists():
        return TINY_MODEL_CACHE
    log(f"no model artifact: training a tiny 32 px model into {TINY_MODEL_CACHE} (a minute or two)")
    code = (
        "import sys, tempfile; from pathlib import Path\n"
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from ml.core.train import train\n"
        "from ml.tests.synth import make_dataset\n"
        "tmp = Path(tempfile.mkdtemp())\n"
        "data = make_dataset(tmp / 'data', per_class=6, size=64)\n"
        "train([data], Path(sys.argv[1]), input_size=32, views=1, head_grid=((10, 0.2, 0.0),),\n"
        "      name='tiny-vgg16-load', log=lambda *_: None)\n"
    )
    TINY_MODEL_CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = TINY_MODEL_CACHE.with_name(TINY_MODEL_CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [PY, "-c", code, str(partial)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode:
        raise RuntimeError(f"training the tiny model failed:\n{result.stderr[-4000:]}")
    partial.rename(TINY_MODEL_CACHE)
    return TINY_MODEL_CACHE


def create_users(env, count):
    code = (
        "import django, sys; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "User = get_user_model(); pw = make_password(sys.argv[2])\n"
        "User.objects.bulk_create([User(email=f'load{i}@example.com', password=pw) for i in range(int(sys.argv[1]))])\n"
    )
    result = subprocess.run(
        [PY, "-c", code, str(count), PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode:
        raise RuntimeError(f"creating users failed:\n{result.stderr[-4000:]}")
    return [f"load{i}@example.com" for i in range(count)]


def wait_until(check, timeout, what, service=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if service is not None and not service.alive():
            raise RuntimeError(f"{service.name} exited early:\n{service.text()[-4000:]}")
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {timeout} s" + (f":\n{service.text()[-4000:]}" if service else ""))


# --- the users ------------------------------------------------------------------------------------


def photo(seed):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array([205, 160, 135]) + rng.normal(0, 12, (480, 400, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=88)
    return out.getvalue()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.busy = 0  # uploads refused by backpressure
        self.busy_unclean = []  # refusals that were not a clean 503 (code busy, Retry-After)
        self.requests = 0
        self.status = Counter()  # (kind, status code) -> count
        self.transport_errors = Counter()  # (kind, exception name) -> count
        self.latency = {}  # kind -> [seconds] of the successful requests
        self.scans = {}  # scan id -> user
        self.server_error_samples = []

    def record(self, kind, response=None, seconds=None, error=None):
        with self.lock:
            self.requests += 1
            if error is not None:
                self.transport_errors[(kind, type(error).__name__)] += 1
                return
            self.status[(kind, response.status_code)] += 1
            if response.status_code >= 500 and len(self.server_error_samples) < 5:
                self.server_error_samples.append(f"{kind} {response.status_code} {response.text[:300]!r}")
            if seconds is not None and response.status_code < 400:
                self.latency.setdefault(kind, []).append(seconds)


def busy_refusal(stats, response):
    """Record a backpressure refusal; returns the seconds to wait (Retry-After)."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    retry_after = response.headers.get("Retry-After", "")
    with stats.lock:
        stats.busy += 1
        if code != "busy" or not retry_after.isdigit() or response.headers.get("Location"):
            stats.busy_unclean.append(f"{response.status_code} {retry_after!r} {response.text[:200]!r}")
    return float(retry_after) if retry_after.isdigit() else 5.0


class TreeSampler(threading.Thread):
    """Peak RSS (sum over a process and its children) and the CPU seconds the services used from the start of
    the user phase to the end of the grace period, sampled each 0.5 s."""

    def __init__(self, services):
        super().__init__(daemon=True)
        self.services, self.peak_rss, self.cpu = services, Counter(), Counter()
        self._cpu_by_pid, self._cpu_start, self._first_done = {}, {}, False
        self._halt = threading.Event()

    def run(self):
        import psutil

        while not self._halt.wait(0.5):
            for service in self.services:
                try:
                    root = psutil.Process(service.proc.pid)
                    procs = [root, *root.children(recursive=True)]
                except psutil.Error:
                    continue
                rss = 0
                for proc in procs:
                    try:
                        rss += proc.memory_info().rss
                        times = proc.cpu_times()
                        key = (service.name, proc.pid)
                        self._cpu_start.setdefault(key, times.user + times.system if not self._first_done else 0.0)
                        self._cpu_by_pid[key] = times.user + times.system
                    except psutil.Error:
                        pass
                self.peak_rss[service.name] = max(self.peak_rss[service.name], rss)
            self._first_done = True
        for (name, pid), seconds in self._cpu_by_pid.items():
            self.cpu[name] += seconds - self._cpu_start[(name, pid)]  # only what the user phase used

    def stop(self):
        self._halt.set()
        self.join(timeout=5)


def scrape_metrics(base):
    """A few of the web's /metrics after the run (this script is on loopback, which may read them)."""
    import requests

    try:
        text = requests.get(base + "/metrics", timeout=10).text
    except requests.RequestException as exc:
        return {"error": type(exc).__name__}
    wanted = ("facediag_scans_accepted_total", 'facediag_uploads_refused_total{reason="busy"}',
              "facediag_scans_backlog", "facediag_analysis_rate")
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line.startswith(wanted)}


def user_loop(base, email, image, stop_at, stats, timeout, iterations=None, login_every_loop=False, think=0.0,
              seed=0, wait_for_result=True):
    import requests

    session = requests.Session()
    rng = random.Random(seed)

    def call(kind, method, path, **kw):
        started = time.monotonic()
        try:
            response = session.request(method, base + path, timeout=timeout, **kw)
        except requests.RequestException as exc:
            stats.record(kind, error=exc)
            return None
        stats.record(kind, response, time.monotonic() - started)
        return response

    if think > 0:  # people arrive spread out, not all in the same second
        time.sleep(rng.uniform(0, think))
    while time.monotonic() < stop_at and iterations != 0:
        if login_every_loop or "Authorization" not in session.headers:
            r = call("login", "POST", "/api/v1/auth/token/", json={"email": email, "password": PASSWORD})
            if r is None or r.status_code != 200:
                time.sleep(1)
                continue
            session.headers["Authorization"] = f"Bearer {r.json()['access']}"
        r = call("upload", "POST", "/api/v1/scans/", files={"image": ("face.jpg", image, "image/jpeg")})
        if r is not None and r.status_code == 401:  # the access token expired: log in again
            session.headers.pop("Authorization", None)
            continue
        if r is not None and r.status_code == 503:  # busy: wait as told, as the apps do
            wait = busy_refusal(stats, r)
            time.sleep(min(wait, max(0.0, stop_at - time.monotonic())))
            continue
        if r is None or r.status_code != 202:
            time.sleep(1)
            continue
        scan_id = r.json()["id"]
        iterations = None if iterations is None else iterations - 1
        with stats.lock:
            stats.scans[scan_id] = email
        if not wait_for_result:  # flood: the next photo at once, results are read from the database
            continue
        while time.monotonic() < stop_at:
            time.sleep(0.5)
            r = call("poll", "GET", f"/api/v1/scans/{scan_id}/")
            if r is not None and r.status_code == 200 and r.json().get("status") in ("done", "failed"):
                break
        if time.monotonic() >= stop_at:
            break
        call("history", "GET", "/api/v1/scans/")
        if think > 0:  # a person looks at the result before the next photo (exponential, mean --think s)
            time.sleep(min(rng.expovariate(1.0 / think), max(0.0, stop_at - time.monotonic())))


# --- main -----------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds each user keeps looping")
    ap.add_argument("--grace", type=float, default=180.0, help="seconds to wait at the end for queued scans")
    ap.add_argument("--model", default=None, help="model artifact directory to register and activate")
    ap.add_argument("--web-workers", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    ap.add_argument("--db-name", default="facediag_load")
    ap.add_argument("--backlog-limit", type=float, default=None,
                    help="SCAN_BACKLOG_LIMIT_SECONDS (default: the setting's default; 0: no backpressure)")
    ap.add_argument("--analysis-rate", type=float, default=None, help="SCAN_ANALYSIS_RATE, scans/s (floor)")
    ap.add_argument("--redis-db", type=int, default=REDIS_DB, help="Redis database number (flushed)")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, media) afterwards")
    ap.add_argument(
        "--think", type=float, default=0.0,
        help="mean seconds a user waits after a result before the next upload (exponential); 0: back to back, "
        "each user always has one scan in flight, so upload -> done is users / throughput (Little's law)",
    )
    ap.add_argument(
        "--no-wait", action="store_true",
        help="each user uploads the next photo as soon as one is accepted, without waiting for its result (a "
        "flood: arrivals far above what the worker analyses; what backpressure is for)",
    )
    ap.add_argument(
        "--login-every-loop", action="store_true",
        help="log in before every upload (the old behaviour: ~0.35 s of password hashing per scan on the same "
        "cores as the worker); by default each user logs in once and keeps the token, as the mobile app does",
    )
    args = ap.parse_args(argv)
    assert 1 <= args.users <= 500 and 1 <= args.duration <= 3600 and 0 <= args.grace <= 3600, "out of bounds"

    scratch = Path(tempfile.mkdtemp(prefix="facediag-load-"))
    media = scratch / "media"
    media.mkdir()
    redis_url = f"redis://{HOST}:6379/{args.redis_db}"
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="facediag_site.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=PG.format(db=args.db_name),
        REDIS_URL=redis_url,
        DJANGO_MEDIA_ROOT=str(media),
        THROTTLE_UPLOADS="100000/hour",
        THROTTLE_AUTH="100000/minute",
        THROTTLE_REGISTER="100000/hour",
        AUTH_RATE_LIMIT_PER_IP="1000000",
        AUTH_RATE_LIMIT_PER_ACCOUNT="1000000",
        LOGIN_FAILURE_LIMIT="1000000",
        JWT_ACCESS_MINUTES="30",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    if args.backlog_limit is not None:
        env["SCAN_BACKLOG_LIMIT_SECONDS"] = str(args.backlog_limit)
    if args.analysis_rate is not None:
        env["SCAN_ANALYSIS_RATE"] = str(args.analysis_rate)
    metrics_dirs = {name: scratch / f"metrics-{name}" for name in ("web", "worker")}
    for folder in metrics_dirs.values():
        folder.mkdir()
    services = []
    sampler = None
    db_created = False
    lines, ok = [], False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # tear down on `kill` too
    log(f"scratch folder {scratch}; database {args.db_name}; redis db {args.redis_db}; web {base}")
    log(machine_state())
    try:
        flush_redis(redis_url)
        create_database(args.db_name)
        db_created = True
        manage(env, "migrate", "--noinput")
        model = find_model(args.model) or tiny_model(env)
        log(manage(env, "register_model", str(model), "--activate").strip())
        emails = create_users(env, args.users)

        web = Service(
            "gunicorn",
            [
                PY,
                "-m",
                "gunicorn",
                "facediag_site.wsgi",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(args.web_workers),
                "--timeout",
                "120",
                "--access-logfile",
                str(scratch / "access.log"),
            ],
            {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dirs["web"])},
            scratch / "gunicorn.log",
        )
        services.append(web)
        worker = Service(
            "celery",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "facediag_site",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(args.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            # the worker logs each batch's size
            {**env, "LOG_LEVEL": "INFO", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dirs["worker"])},
            scratch / "worker.log",
        )
        services.append(worker)
        import requests

        def web_up():
            try:
                return requests.get(base + "/api/v1/scans/", timeout=2).status_code == 401
            except requests.RequestException:
                return False

        wait_until(web_up, 90, "gunicorn", web)
        wait_until(lambda: " ready." in worker.text(), 180, "celery worker", worker)
        log(f"web and worker up; warming the model with {args.concurrency} scan(s)")
        warm = Stats()
        warm_threads = [
            threading.Thread(
                target=user_loop,
                daemon=True,
                args=(base, emails[i % len(emails)], photo(999 + i), time.monotonic() + 300, warm, args.timeout, 1),
            )
            for i in range(args.concurrency)
        ]
        for t in warm_threads:  # one scan each, polled until done (the children load the model)
            t.start()
        for t in warm_threads:
            t.join(timeout=320)
        warm_states = scan_states(args.db_name)
        if not warm.scans or any(warm_states.get(i, ("",))[0] != "done" for i in warm.scans):
            raise RuntimeError(f"model warm-up failed: {warm_states}\n{worker.text()[-4000:]}")

        stats = Stats()
        sampler = TreeSampler(services)
        sampler.start()
        images = [photo(i) for i in range(min(args.users, 10))]
        started = time.monotonic()
        stop_at = started + args.duration
        log(f"running {args.users} users for {args.duration:.0f} s")
        threads = [
            threading.Thread(
                target=user_loop,
                daemon=True,
                args=(base, emails[i], images[i % len(images)], stop_at, stats, args.timeout, None,
                      args.login_every_loop, args.think, i, not args.no_wait),
            )
            for i in range(args.users)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(0.0, stop_at - time.monotonic()) + args.timeout + 5)
        user_phase = time.monotonic() - started
        ours = set(stats.scans)

        log(f"user phase over after {user_phase:.1f} s; waiting up to {args.grace:.0f} s for queued scans")
        grace_end = time.monotonic() + args.grace
        while True:
            states = scan_states(args.db_name)
            pending = [i for i in ours if states.get(i, ("missing",))[0] not in ("done", "failed")]
            if not pending or time.monotonic() >= grace_end:
                break
            time.sleep(1)
        if sampler is not None:
            sampler.stop()
        states = scan_states(args.db_name)
        done = [states[i][1] for i in ours if states.get(i, ("",))[0] == "done" and states[i][1] is not None]
        failed = sum(1 for i in ours if states.get(i, ("",))[0] == "failed")
        lost = sum(1 for i in ours if states.get(i, ("missing",))[0] not in ("done", "failed"))
        missing = sum(1 for i in ours if i not in states)
        extra_scans = len(set(states) - ours - set(warm.scans))
        server_errors = sum(n for (_, code), n in stats.status.items() if code >= 500) - stats.busy
        access_5xx = sum(
            1 for line in (scratch / "access.log").read_text(errors="replace").splitlines()
            if '" 5' in line and 'POST /api/v1/scans/ HTTP/1.1" 503' not in line
        )
        worker_log = worker.text()
        batches = [int(n) for n in re.findall(r"analysed (\d+) scan\(s\) in one batch", worker_log)]
        completed = sorted(states[i][2] for i in ours if states.get(i, ("",))[0] == "done" and states[i][2])
        worker_errors = worker_log.count(" ERROR/") + worker_log.count('"level": "ERROR"') + worker_log.count(
            "Traceback")
        web_metrics = scrape_metrics(base)

        lines = ["status counts: " + ", ".join(f"{k}:{c}={n}" for (k, c), n in sorted(stats.status.items()))]
        if stats.transport_errors:
            lines.append(f"transport errors: {dict(stats.transport_errors)}")
        lines += [f"5xx sample: {sample}" for sample in stats.server_error_samples
                  if " 503 " not in sample or '"busy"' not in sample]
        lines += [f"unclean refusal: {sample}" for sample in stats.busy_unclean[:5]]
        figures = {
            "users": args.users,
            "think_s": args.think,
            "wait_for_result": not args.no_wait,
            "login_every_loop": args.login_every_loop,
            "duration_s": round(user_phase, 1),
            "uploads_per_second": round(len(stats.scans) / user_phase, 2),
            "requests": stats.requests,
            "requests_per_second": round(stats.requests / user_phase, 2),
            "login_p50_ms": ms(stats.latency.get("login"), 50),
            "login_p95_ms": ms(stats.latency.get("login"), 95),
            "poll_p95_ms": ms(stats.latency.get("poll"), 95),
            "history_p95_ms": ms(stats.latency.get("history"), 95),
            "upload_p50_ms": ms(stats.latency.get("upload"), 50),
            "upload_p95_ms": ms(stats.latency.get("upload"), 95),
            "upload_to_done_p50_s": round(percentile(done, 50), 2),
            "upload_to_done_p95_s": round(percentile(done, 95), 2),
            "backlog_limit_s": env.get("SCAN_BACKLOG_LIMIT_SECONDS", "default"),
            "uploads_refused_busy": stats.busy,
            "refusals_clean": not stats.busy_unclean,
            "server_errors_5xx": server_errors,
            "server_errors_5xx_access_log": access_5xx,
            "transport_errors": sum(stats.transport_errors.values()),
            "worker_errors_logged": worker_errors,
            "scans_uploaded": len(ours),
            "scans_done": len(done),
            "scans_failed": failed,
            "scans_not_done": len(ours) - len(done),
            "lost_scans": lost,
            "scans_missing_from_db": missing,
            "scans_unaccounted_extra": extra_scans,
            "grace_used_s": round(args.grace - max(0.0, grace_end - time.monotonic()), 1),
            "batches": len(batches),
            "batch_size_mean": round(sum(batches) / len(batches), 2) if batches else 0,
            "batch_size_max": max(batches, default=0),
            "worker_scans_per_second": round((len(completed) - 1) / (completed[-1] - completed[0]), 2)
            if len(completed) > 1 and completed[-1] > completed[0] else 0,
            "web_peak_rss_mb": round(sampler.peak_rss["gunicorn"] / 2**20),
            "worker_peak_rss_mb": round(sampler.peak_rss["celery"] / 2**20),
            "web_cpu_s": round(sampler.cpu["gunicorn"], 1),
            "worker_cpu_s": round(sampler.cpu["celery"], 1),
            "web_metrics_at_end": web_metrics,
            "machine_at_end": machine_state(),
        }
        ok = server_errors == 0 and lost == 0 and missing == 0 and not stats.busy_unclean
        if not ok:
            lines.append(f"logs kept in {scratch}")
            args.keep = True
        lines += [f"{key}={value}" for key, value in figures.items()] + [f"result={'PASS' if ok else 'FAIL'}"]
    except BaseException:
        args.keep = True
        log(f"aborted; logs kept in {scratch}")
        raise
    finally:
        if sampler is not None:
            sampler.stop()
        for service in reversed(services):
            service.stop()
        try:
            flush_redis(redis_url)
        except Exception as exc:
            log(f"could not flush redis db {args.redis_db}: {exc}")
        if db_created:
            drop_database(args.db_name)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        log("torn down")
    print("\n".join(lines), flush=True)  # the figures are the last lines
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
