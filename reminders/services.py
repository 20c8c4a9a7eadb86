"""Writes: opting in and out, and sending the reminders that are due."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facediag_site.lib import dates

from . import schedule, tokens
from .models import Frequency, ReminderPreference

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def set_preference(
    user: User, *, frequency: str, time_zone: str | None = None, language: str = "", now: datetime | None = None
) -> ReminderPreference:
    """Reminders at ``frequency``, at 9 in the morning in the profile's time zone. ``time_zone`` (the zone
    the request was served in: the profile's, else the device's) becomes the profile's when it is a zone;
    without one, the profile's, else UTC."""
    now = now or timezone.now()
    pref, _created = ReminderPreference.objects.get_or_create(user=user)
    pref.frequency = frequency
    language = user.language or language  # the profile's language, when the person chose one, wins
    if language in dict(settings.LANGUAGES):
        pref.language = language
    if time_zone and dates.valid_time_zone(time_zone) and user.time_zone != time_zone:
        user.time_zone = time_zone  # the profile's time zone: pages, charts and reports use it too
        user.save(update_fields=["time_zone"])
    pref.time_zone = user.time_zone if dates.valid_time_zone(user.time_zone) else "UTC"
    pref.next_due_at = schedule.next_due(now, frequency, pref.time_zone)
    pref.save()
    logger.info("user %s reminders set to %s", user.pk, frequency)
    return pref


def follow_time_zone(user: User, time_zone: str) -> None:
    """The profile's new time zone: the next reminder comes on the day it was due, at 9 in the morning there."""
    with transaction.atomic():
        pref = ReminderPreference.objects.select_for_update().filter(user=user).first()
        if pref is None or pref.time_zone == time_zone or not dates.valid_time_zone(time_zone):
            return
        if pref.next_due_at is not None:
            pref.next_due_at = schedule.same_day_elsewhere(pref.next_due_at, pref.time_zone, time_zone)
        pref.time_zone = time_zone
        pref.save(update_fields=["time_zone", "next_due_at", "updated_at"])


def unsubscribe(user_id: int) -> bool:
    """Switch reminders off for this user; True when there was something to switch off."""
    changed = ReminderPreference.objects.filter(user_id=user_id).exclude(frequency=Frequency.OFF).update(
        frequency=Frequency.OFF, next_due_at=None, updated_at=timezone.now()
    )
    if changed:
        logger.info("user %s unsubscribed from reminders", user_id)
    return bool(changed)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def reminder_email(pref: ReminderPreference) -> EmailMultiAlternatives:
    """The reminder in the language the person used when opting in."""
    with translation.override(pref.language):
        return _reminder_email(pref)


def _reminder_email(pref: ReminderPreference) -> EmailMultiAlternatives:
    user = pref.user
    last_scan = user.scans.order_by("-created_at").values_list("created_at", flat=True).first()
    tz = schedule.zone(pref.time_zone)
    unsubscribe_url = _absolute(reverse("reminders:unsubscribe", args=[tokens.unsubscribe_token(user)]))
    context = {
        "site_name": settings.SITE_NAME,
        "frequency": str(pref.get_frequency_display()).lower(),
        "language": pref.language,
        "last_scan": dates.day(last_scan, tz) if last_scan else "",  # as the pages write it, in their zone
        "upload_url": _absolute(reverse("diagnosis:upload")),
        "history_url": _absolute(reverse("diagnosis:history")),
        "account_url": _absolute(reverse("profile")),
        "unsubscribe_url": unsubscribe_url,
        "disclaimer": _(settings.GENERAL_DISCLAIMER),  # no result to refer to
    }
    message = EmailMultiAlternatives(
        subject=_("Time for your next %(site)s photo") % {"site": settings.SITE_NAME},
        body=render_to_string("reminders/reminder_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string("reminders/reminder_email.html", context), "text/html")
    return message


def send_due_reminders(now: datetime | None = None, budget_seconds: float | None = None) -> int:
    """Send every reminder that is due, each at most once even with several workers; returns how many.
    With ``budget_seconds`` the round stops once that long has passed (see send_reminder_round)."""
    return send_reminder_round(now, budget_seconds)[0]


def send_reminder_round(now: datetime | None = None, budget_seconds: float | None = None) -> tuple[int, bool]:
    """(how many were sent, whether the round stopped with reminders still due because ``budget_seconds``
    ran out; at least one is sent). The worker's task then queues the rest behind the analyses queued
    meanwhile: 100 mails in one go kept a scan uploaded 2 s later waiting 39.7 s (finding M4 of issue 30).
    One connection to the mail server serves the whole round."""
    from django.core.mail import get_connection

    now = now or timezone.now()
    started = time.monotonic()
    due_ids = list(ReminderPreference.objects.filter(next_due_at__lte=now).exclude(frequency=Frequency.OFF)
                   .values_list("id", flat=True))
    sent = 0
    stopped_early = False
    with get_connection() as connection:
        for index, pref_id in enumerate(due_ids):
            if budget_seconds is not None and index and time.monotonic() - started >= budget_seconds:
                stopped_early = True
                break
            with transaction.atomic():
                pref = (ReminderPreference.objects.select_for_update(skip_locked=True).select_related("user")
                        .filter(id=pref_id, next_due_at__lte=now, user__is_active=True)
                        .exclude(frequency=Frequency.OFF).first())
                if pref is None:  # another worker has it, or it changed meanwhile
                    continue
                try:
                    message = reminder_email(pref)
                    message.connection = connection
                    message.send()
                except Exception:  # the mail server's problem: keep it due and try on the next round
                    logger.exception("reminder for user %s could not be sent", pref.user_id)
                    continue
                pref.last_sent_at = now
                pref.next_due_at = schedule.next_due(now, pref.frequency, pref.time_zone)
                pref.save(update_fields=["last_sent_at", "next_due_at", "updated_at"])
                sent += 1
    if sent:
        logger.info("sent %d reminder e-mails%s", sent, "; the rest in the next round" if stopped_early else "")
    return sent, stopped_early
