"""Celery beat in a real worker process sends a due reminder (its e-mail written to files we read)."""

import email
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from reminders import services
from reminders.models import Frequency, ReminderPreference

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_beat_and_worker_send_a_due_reminder(user, tmp_path):
    from tests.worker import WorkerProcess, flush_broker

    services.set_preference(user, frequency=Frequency.WEEKLY, time_zone="Europe/Madrid")
    ReminderPreference.objects.filter(user=user).update(next_due_at=timezone.now() - timedelta(minutes=1))
    outbox = tmp_path / "mail"
    outbox.mkdir()
    flush_broker()
    worker = WorkerProcess(tmp_path / "worker.log", beat=True, REMINDER_CHECK_INTERVAL_SECONDS=1,
                           FACEDIAG_TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                           FACEDIAG_TEST_EMAIL_DIR=str(outbox), FACEDIAG_SITE_URL="https://skin.example")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not list(outbox.iterdir()):
            time.sleep(0.5)
        files = list(outbox.iterdir())
        assert files, worker.log()[-3000:]
        time.sleep(3)  # a few more beat rounds: still one message
        files = list(outbox.iterdir())
        messages = [email.message_from_bytes(raw) for f in files
                    for raw in f.read_bytes().split(b"\n" + b"-" * 79 + b"\n") if raw.strip()]
    finally:
        worker.discard()
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == user.email
    assert message["List-Unsubscribe"].strip().startswith("<https://skin.example/reminders/unsubscribe/")
    pref = ReminderPreference.objects.get(user=user)
    assert pref.last_sent_at is not None and pref.next_due_at > timezone.now() + timedelta(days=6)
