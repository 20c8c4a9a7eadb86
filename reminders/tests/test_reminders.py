"""Opt-in reminder e-mails: the schedule in the person's time zone, sending once, login-free unsubscribe."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from reminders import schedule, services, tokens
from reminders.models import Frequency, ReminderPreference

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def at(*args, tz=UTC):
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(("after", "frequency", "zone", "expected"), [
    # 20:00 UTC is already the next morning in Tokyo: a week after that, at 09:00 Tokyo time.
    (at(2026, 11, 27, 20), Frequency.WEEKLY, "Asia/Tokyo", at(2026, 12, 5, 9, tz=ZoneInfo("Asia/Tokyo"))),
    (at(2026, 11, 27, 20), Frequency.FORTNIGHTLY, "Europe/Madrid", at(2026, 12, 11, 9, tz=ZoneInfo("Europe/Madrid"))),
    (at(2027, 1, 31, 12), Frequency.MONTHLY, "UTC", at(2027, 2, 28, 9)),  # no 31 February
    # Across the end of daylight saving time it stays 09:00 local (13:00 UTC before, 14:00 UTC after).
    (at(2026, 10, 29, 15), Frequency.WEEKLY, "America/New_York", at(2026, 11, 5, 14)),
])
def test_next_reminder_is_at_nine_in_the_persons_time_zone(after, frequency, zone, expected):
    assert schedule.next_due(after, frequency, zone) == expected


def test_reminders_are_off_unless_chosen(user):
    assert services.send_due_reminders(now=at(2030, 1, 1)) == 0
    assert mail.outbox == []


def test_opting_in_on_the_account_page(user_client, user):
    html = user_client.get(reverse("profile")).content.decode()
    assert 'id="reminder-form"' in html and 'value="fortnightly"' in html
    user_client.post(reverse("profile"), {"display_name": "", "language": "", "time_zone": "Europe/Madrid"})
    response = user_client.post(reverse("reminders:settings"), {"frequency": "fortnightly"})
    assert response.status_code == 302
    pref = ReminderPreference.objects.get(user=user)
    assert (pref.frequency, pref.time_zone) == ("fortnightly", "Europe/Madrid")
    assert pref.next_due_at.astimezone(ZoneInfo("Europe/Madrid")).hour == 9
    bad = user_client.post(reverse("reminders:settings"), {"frequency": "hourly"})
    assert bad.status_code == 302
    assert ReminderPreference.objects.get(user=user).frequency == "fortnightly"  # unchanged


def test_a_due_reminder_is_sent_once_with_a_working_unsubscribe_link(client, user, settings):
    settings.SITE_NAME = "SkinCheck"
    settings.SITE_URL = "https://skin.example"
    pref = services.set_preference(user, frequency=Frequency.WEEKLY, time_zone="Europe/Madrid",
                                   now=at(2026, 11, 1, 10))
    due = pref.next_due_at
    assert services.send_due_reminders(now=at(2026, 11, 7, 12)) == 0  # not yet
    assert services.send_due_reminders(now=due) == 1
    assert services.send_due_reminders(now=due) == 0  # once only
    message = mail.outbox[-1]
    assert message.to == [user.email] and "SkinCheck" in message.subject
    assert "https://skin.example/scans/new/" in message.body and "not a diagnosis" in message.body
    link = re.search(r"(https://skin\.example/reminders/unsubscribe/\S+/)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.alternatives and link in message.alternatives[0][0]
    pref.refresh_from_db()
    assert pref.last_sent_at == due and pref.next_due_at > due

    path = link.removeprefix("https://skin.example")
    page = client.get(path)  # no login needed
    assert page.status_code == 200 and 'id="unsubscribe-button"' in page.content.decode()
    pref.refresh_from_db()
    assert pref.frequency == Frequency.WEEKLY  # opening the link alone changes nothing (link scanners)
    done = client.post(path)
    assert done.status_code == 200 and 'id="unsubscribe-done"' in done.content.decode()
    pref.refresh_from_db()
    assert pref.frequency == Frequency.OFF and pref.next_due_at is None
    assert services.send_due_reminders(now=at(2030, 1, 1)) == 0


def test_a_forged_or_altered_unsubscribe_link_is_refused(client, user, other_user):
    services.set_preference(other_user, frequency=Frequency.WEEKLY, time_zone="UTC")
    token = tokens.unsubscribe_token(user)
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    for bad in (token[:-2] + "xx", "not-a-token", altered, token[:-10]):
        response = client.post(reverse("reminders:unsubscribe", args=[bad]))
        assert response.status_code == 400 and 'id="unsubscribe-invalid"' in response.content.decode()
    assert ReminderPreference.objects.get(user=other_user).frequency == Frequency.WEEKLY


def test_an_unknown_time_zone_falls_back_to_utc(user):
    pref = services.set_preference(user, frequency=Frequency.MONTHLY, time_zone="Nowhere/Special")
    assert pref.time_zone == "UTC" and pref.next_due_at.hour == 9


def decodings(token):
    """Whatever a reader can get out of the token without the key: each base64 piece, inflated if it can be."""
    import base64
    import zlib

    for piece in re.split(r"[:.]", token) + [token]:
        for candidate in (piece, piece.lstrip(".")):
            try:
                raw = base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4))
            except ValueError:
                continue
            yield raw
            try:
                yield zlib.decompress(raw)
            except zlib.error:
                pass


def test_an_unsubscribe_token_does_not_carry_the_user_id_readably(django_user_model):
    """Finding L4 (round three): the token was signed but readable: base64 of {"u": <user id>}."""
    person = django_user_model.objects.create_user(id=987654321, email="dora@example.com", password="x" * 12)
    token = tokens.unsubscribe_token(person)
    assert not any(b"987654321" in raw for raw in decodings(token))
    assert tokens.user_id_from_token(token) == person.pk


def test_an_unsubscribe_link_expires(client, user, settings):
    """Finding L4 (round three): unsubscribe tokens never expired. An old one says so, and where to go instead."""
    import time

    services.set_preference(user, frequency=Frequency.WEEKLY, time_zone="UTC")
    days = settings.REMINDER_UNSUBSCRIBE_LINK_DAYS
    old = tokens.unsubscribe_token(user, now=time.time() - (days + 1) * 86400)
    recent = tokens.unsubscribe_token(user, now=time.time() - (days - 1) * 86400)
    response = client.post(reverse("reminders:unsubscribe", args=[old]))
    assert response.status_code == 400 and 'id="unsubscribe-expired"' in response.content.decode()
    assert ReminderPreference.objects.get(user=user).frequency == Frequency.WEEKLY
    assert client.post(reverse("reminders:unsubscribe", args=[recent])).status_code == 200
    assert ReminderPreference.objects.get(user=user).frequency == Frequency.OFF


def test_a_reminder_round_yields_the_worker_to_analyses_queued_meanwhile(django_user_model, settings):
    """Finding M4 (issue 30): a round sent its mails one by one on the analysis worker: with 100 due, a scan
    uploaded 2 s later waited 39.7 s. A round now stops after REMINDER_ROUND_SECONDS (here 0: one mail) and
    queues the next round behind what was queued meanwhile, until none is due."""
    from celery.signals import before_task_publish

    from reminders import tasks

    settings.REMINDER_ROUND_SECONDS = 0
    for n in range(3):
        person = django_user_model.objects.create_user(email=f"remind{n}@example.com", password="x-long-pass")
        services.set_preference(person, frequency=Frequency.WEEKLY, time_zone="UTC", now=at(2020, 1, 1))
    published = []

    def seen(sender=None, **_kwargs):
        published.append(sender)

    before_task_publish.connect(seen, weak=False)
    try:
        assert tasks.send_due_reminders() == 1
        assert published == ["reminders.tasks.send_due_reminders"]  # the rest, behind the queue
        assert tasks.send_due_reminders() == 1 and tasks.send_due_reminders() == 1
        assert len(published) == 2  # the last round found nothing more due: no further round
    finally:
        before_task_publish.disconnect(seen)
    assert len(mail.outbox) == 3
