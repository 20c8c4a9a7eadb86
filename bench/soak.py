"""Soak test of the run command: `scripts/run.sh` exactly as a new user starts it (SQLite, the embedded Redis,
the supervisor with web, worker and beat), under concurrent uploaders for a long time.

Usage: python bench/soak.py [--uploaders 20] [--minutes 30] [--grace 300] [--kill-worker-every 0]

Isolated from the checkout's own data: SQLite, media and the embedded Redis live in a scratch folder
(DATABASE_URL, DJANGO_MEDIA_ROOT, FACEDIAG_EMBEDDED_REDIS_DIR), the web on a free port. Upload throttles are
raised; backpressure stays on (a refused upload waits Retry-After, as the apps do). Each uploader (a thread,
through the JWT API, as bench/load.py's users) uploads a photo, polls it until done or failed, reads its
history and starts again. Every 10 s the bench asks /healthz/. ``--kill-worker-every S`` SIGKILLs the worker's
main process every S seconds (what the outside test saw, on purpose) to show the supervisor's restarts lose
nothing.

Figures (key=value, after the CPU line): scans uploaded / done / failed; lost_scans (accepted, still not
finished after --grace); worker_deaths, beat_deaths, redis_deaths, web_deaths (the supervisor's "exited"
lines); stopped (the supervisor gave up); healthz failures; 5xx responses; transport errors; upload -> done
p50/p95; busy refusals. Goal: worker_deaths=0 (without --kill-worker-every) and lost_scans=0.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import load  # bench/load.py: the uploaders, their statistics, photos
from machine import machine_state

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


def http_status(url, timeout=10.0):
    import requests

    try:
        return requests.get(url, timeout=timeout).status_code
    except requests.RequestException:
        return None


def scan_rows(db_path):
    """{scan id: (status, seconds from upload to completion or None)} read from the SQLite database."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute("SELECT id, status, created_at, completed_at FROM diagnosis_scan").fetchall()

    def seconds(created, completed):
        if not completed:
            return None
        from datetime import datetime

        return (datetime.fromisoformat(completed) - datetime.fromisoformat(created)).total_seconds()

    # Django stores UUIDs in SQLite as 32 hex digits; the API answers them with dashes
    return {r[0].replace("-", ""): (r[1], seconds(r[2], r[3])) for r in rows}


def create_users(env, count):
    """Confirmed accounts (as an operator makes them), the password bench/load.py's uploaders sign in with."""
    code = (
        "import django, sys; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from django.utils import timezone\n"
        "User = get_user_model(); pw = make_password(sys.argv[2])\n"
        "User.objects.bulk_create([User(email=f'soak{i}@example.com', password=pw, email_verified_at=timezone.now())"
        " for i in range(int(sys.argv[1]))])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(count), load.PASSWORD], cwd=ROOT, env=env, check=True,
                   timeout=300)
    return [f"soak{i}@example.com" for i in range(count)]


def part_pid(supervisor_pid, name):
    children = subprocess.run(["pgrep", "-P", str(supervisor_pid)], capture_output=True, text=True).stdout
    for pid in map(int, children.split()):
        try:
            if name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                return pid
        except OSError:
            continue
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uploaders", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=30.0, help="how long the uploaders keep uploading")
    ap.add_argument("--grace", type=float, default=300.0, help="seconds to wait at the end for unfinished scans")
    ap.add_argument("--kill-worker-every", type=float, default=0.0, help="SIGKILL the worker every S seconds")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (run log, database, media)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped early: still stop the run command (finally)
    assert 1 <= args.uploaders <= 200 and 0 < args.minutes <= 24 * 60, "out of bounds"

    scratch = Path(tempfile.mkdtemp(prefix="fd-soak-"))  # short: the Redis socket path has a length limit
    db_path = scratch / "db.sqlite3"
    port, metrics_port = load.free_port(), load.free_port()
    base = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CACHE_URL", "DATABASE_URL")}
    env.update(
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{db_path}",
        DJANGO_MEDIA_ROOT=str(scratch / "media"),
        FACEDIAG_EMBEDDED_REDIS_DIR=str(scratch / "redis"),
        PORT=str(port),
        WORKER_METRICS_PORT=str(metrics_port),
        THROTTLE_UPLOADS="1000000/hour",
        THROTTLE_AUTH="100000/minute",
        AUTH_RATE_LIMIT_PER_IP="1000000",
        AUTH_RATE_LIMIT_PER_ACCOUNT="1000000",
        LOGIN_FAILURE_LIMIT="1000000",
        JWT_ACCESS_MINUTES=str(int(args.minutes) + 30),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    run_log = scratch / "run.log"
    log(f"scratch folder {scratch}; starting scripts/run.sh on port {port}")
    with open(run_log, "wb") as out:
        run = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    stats, stop_at = load.Stats(), None
    health = {"asked": 0, "failed": 0, "failures": []}
    kills = []
    try:
        deadline = time.monotonic() + 900
        while http_status(f"{base}/healthz/") != 200:  # the full check: worker heartbeat included
            if run.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the run command did not come up:\n" + run_log.read_text(errors="replace")[-4000:])
            time.sleep(1)
        manage_env = dict(env, DJANGO_SETTINGS_MODULE="facediag_site.settings")
        emails = create_users(manage_env, args.uploaders)
        log(f"up; {args.uploaders} uploaders for {args.minutes:g} min")

        started = time.monotonic()
        stop_at = started + args.minutes * 60
        image = load.photo(7)
        users = [threading.Thread(target=load.user_loop, args=(base, email, image, stop_at, stats, args.timeout),
                                  kwargs={"seed": i, "think": 1.0}, daemon=True) for i, email in enumerate(emails)]
        for user in users:
            user.start()
        next_kill = started + args.kill_worker_every if args.kill_worker_every else None
        next_report = started + 60
        while time.monotonic() < stop_at and run.poll() is None:
            status = http_status(f"{base}/healthz/")
            health["asked"] += 1
            if status != 200:
                health["failed"] += 1
                health["failures"].append(f"{time.monotonic() - started:.0f}s:{status}")
            if next_kill and time.monotonic() >= next_kill:
                pid = part_pid(run.pid, "worker")
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                    log(f"killed the worker (pid {pid})")
                next_kill += args.kill_worker_every
            if time.monotonic() >= next_report:
                log(f"{len(stats.scans)} scans uploaded, {stats.busy} busy refusals, healthz failures "
                    f"{health['failed']}/{health['asked']}")
                next_report += 60
            time.sleep(10)
        for user in users:
            user.join(timeout=args.timeout + 5)

        log(f"uploads stopped; waiting at most {args.grace:g} s for the scans still waiting")
        deadline = time.monotonic() + args.grace
        while True:
            rows = scan_rows(db_path)
            waiting = [s for s in stats.scans
                       if rows.get(s.replace("-", ""), ("missing",))[0] not in ("done", "failed")]
            if not waiting or time.monotonic() > deadline or run.poll() is not None:
                break
            time.sleep(2)
    finally:
        text_before_stop = run_log.read_text(errors="replace")
        if run.poll() is None:
            os.kill(run.pid, signal.SIGTERM)  # run.sh exec'd the supervisor: it stops web, beat, worker, Redis
            try:
                run.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
    rows = scan_rows(db_path)
    mine = {s: rows.get(s.replace("-", ""), ("missing", None)) for s in stats.scans}
    done = [seconds for status, seconds in mine.values() if status == "done" and seconds is not None]
    failed = sum(status == "failed" for status, _ in mine.values())
    lost = sum(status not in ("done", "failed") for status, _ in mine.values())
    server_errors = sum(n for (kind, code), n in stats.status.items() if code >= 500 and code != 503)

    print(f"CPU: {machine_state()}")
    print(f"run command: scripts/run.sh (SQLite, embedded Redis, supervised web/worker/beat); "
          f"uploaders={args.uploaders} minutes={args.minutes:g} grace_s={args.grace:g} "
          f"kill_worker_every_s={args.kill_worker_every:g}")
    print(f"scans_uploaded={len(stats.scans)} done={len(done)} failed={failed} lost_scans={lost}")
    deaths = {part: text_before_stop.count(f"the {part} exited") for part in ("worker", "beat", "redis", "web")}
    print(f"worker_deaths={deaths['worker']} (killed on purpose: {len(kills)}) beat_deaths={deaths['beat']} "
          f"redis_deaths={deaths['redis']} web_deaths={deaths['web']} stopped={'FaceDiag STOPPED' in text_before_stop}")
    print(f"healthz_failures={health['failed']}/{health['asked']} {' '.join(health['failures'][:10])}")
    print(f"upload_to_done_p50_s={load.percentile(done, 50):.1f} p95_s={load.percentile(done, 95):.1f} "
          f"scans_per_min={len(done) / args.minutes:.1f}")
    print(f"busy_refusals={stats.busy} unclean={len(stats.busy_unclean)} server_errors_5xx={server_errors} "
          f"transport_errors={sum(stats.transport_errors.values())} "
          f"statuses={dict(sorted((f'{k}:{c}', n) for (k, c), n in stats.status.items()))}")
    for sample in stats.server_error_samples:
        print(f"  5xx sample: {sample}")
    if args.keep:
        print(f"kept {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if lost == 0 and (args.kill_worker_every or text_before_stop.count("the worker exited") == 0) else 1


if __name__ == "__main__":
    sys.exit(main())
