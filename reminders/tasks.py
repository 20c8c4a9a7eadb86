from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="reminders.tasks.send_due_reminders")
def send_due_reminders():
    """A round of at most REMINDER_ROUND_SECONDS of sending; if reminders remain due, the next round is
    queued behind whatever analyses were queued meanwhile (the queue is first in, first out)."""
    sent, stopped_early = services.send_reminder_round(budget_seconds=settings.REMINDER_ROUND_SECONDS)
    if stopped_early:
        send_due_reminders.apply_async()
    return sent
