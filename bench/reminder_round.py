"""Scan latency during a reminder round (issue 30, finding M4): how long a scan uploaded 2 s after a round of
N due reminders starts waits for its result, on the run command's worker (concurrency 1).

    python bench/reminder_round.py [--reminders 1000] [--smtp-ms 40] [--upload-after 2]

Self-contained: SQLite, media and the embedded Redis in a scratch folder, the run command's supervisor without
the web (facediag_site.supervise --no-web: Redis, one worker, beat), the shipped model, a local SMTP server
(aiosmtpd) taking --smtp-ms to accept each message. Twice: with one round sending everything
(REMINDER_ROUND_SECONDS huge: the behaviour before the fix) and with the default round. Prints the CPU, then
per variant the upload -> done seconds and how many reminders had been sent by then.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parents[1]

SETUP = r"""
import sys
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from reminders.models import ReminderPreference
n = int(sys.argv[1])
users = User.objects.bulk_create([User(email=f"due{i}@example.com", email_verified_at=timezone.now())
                                  for i in range(n)])
due = timezone.now() - timedelta(minutes=1)
ReminderPreference.objects.bulk_create([ReminderPreference(user=u, frequency="weekly", time_zone="UTC",
                                                           language="en-gb", next_due_at=due) for u in users])
User.objects.create_user(email="uploader@example.com", password="bench-pass-123")
"""

ROUND_THEN_UPLOAD = r"""
import sys, time
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.models import User
from diagnosis import services
from diagnosis.models import Scan
from reminders.tasks import send_due_reminders
photo = open("ml/samples/astronaut_face.jpg", "rb").read()
owner = User.objects.get(email="uploader@example.com")


def upload_and_wait():
    started = time.monotonic()
    scan, _ = services.create_scan(owner=owner, uploaded_file=SimpleUploadedFile("f.jpg", photo))
    while Scan.objects.get(id=scan.id).status not in ("done", "failed"):
        time.sleep(0.1)
    return round(time.monotonic() - started, 2), Scan.objects.get(id=scan.id).status


print("WARM_UP_S", *upload_and_wait())  # the pool process loads the model on its first scan
send_due_reminders.delay()
time.sleep(float(sys.argv[1]))
print("UPLOAD_TO_DONE_S", *upload_and_wait())
"""


class SlowSmtp:
    def __init__(self, seconds):
        from aiosmtpd.controller import Controller

        self.count = 0
        lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                await asyncio.sleep(seconds)
                with lock:
                    outer.count += 1
                return "250 OK"

        with socket.socket() as probe:  # a free port (aiosmtpd cannot take port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def run_variant(name, args, round_seconds):
    smtp = SlowSmtp(args.smtp_ms / 1000)
    scratch = Path(tempfile.mkdtemp(prefix="fd-rem-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CACHE_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="facediag_site.settings", DJANGO_READ_DOT_ENV="false",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(40), DATABASE_URL=f"sqlite:///{scratch}/db.sqlite3",
               DJANGO_MEDIA_ROOT=str(scratch / "media"), FACEDIAG_EMBEDDED_REDIS_DIR=str(scratch / "redis"),
               EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}", REMINDER_ROUND_SECONDS=str(round_seconds),
               REMINDER_CHECK_INTERVAL_SECONDS="100000", PYTHONUNBUFFERED="1")

    def manage(*argv, timeout=900):
        done = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(done.stdout[-2000:] + done.stderr[-3000:])
        return done.stdout

    log = open(scratch / "run.log", "wb")
    manage("migrate", "--noinput")
    run = subprocess.Popen([sys.executable, "-m", "facediag_site.supervise", "--no-web"], cwd=ROOT, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        manage("register_model", "ml/artifacts/vgg16-skin-v6", "--activate")
        manage("shell", "-c", SETUP.replace("sys.argv[1]", str(args.reminders)))
        deadline = time.monotonic() + 300
        while b" ready." not in (scratch / "run.log").read_bytes():
            if time.monotonic() > deadline or run.poll() is not None:
                raise RuntimeError((scratch / "run.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        out = manage("shell", "-c", ROUND_THEN_UPLOAD.replace("sys.argv[1]", str(args.upload_after)))
        sent_by_then = smtp.count
        line = next(x for x in out.splitlines() if x.startswith("UPLOAD_TO_DONE_S"))
        warm = next(x for x in out.splitlines() if x.startswith("WARM_UP_S"))
        print(f"{name}: {line} reminders_sent_by_then={sent_by_then} of {args.reminders} (the first scan, "
              f"loading the model, before the round: {warm.split()[1]} s)", flush=True)
    finally:
        os.kill(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
        smtp.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reminders", type=int, default=1000)
    ap.add_argument("--smtp-ms", type=float, default=40.0, help="the mail server's time per message")
    ap.add_argument("--upload-after", type=float, default=2.0, help="seconds after the round starts")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped early: still stop the supervisor (finally)
    print(f"CPU: {machine_state()}")
    print(f"reminders={args.reminders} smtp_ms={args.smtp_ms:g} upload_after_s={args.upload_after:g}; worker "
          "concurrency 1, shipped model", flush=True)
    run_variant("one round (before)", args, 1_000_000)
    run_variant("rounds of REMINDER_ROUND_SECONDS=1 (now)", args, 1.0)


if __name__ == "__main__":
    main()
