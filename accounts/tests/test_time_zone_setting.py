"""One time zone setting, on the profile (issue 32, point 7): it left the Reminders form, where saving a zone
with reminders off answered "Reminders switched off". The list is grouped by region, each zone named by
its city and country in the page's language; the IANA name is what is kept, and reminders follow it."""

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from reminders import services as reminder_services
from reminders.models import ReminderPreference

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def profile_page(client, language):
    return client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def save_profile(client, language="en-GB", **fields):
    data = {"display_name": "", "language": "", "time_zone": "", **fields}
    return client.post(reverse("profile"), data, HTTP_ACCEPT_LANGUAGE=language)


def form_html(html, form_id):
    return re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)


def option_groups(html):
    """{group label: [(value, text), ...]} of the time zone select."""
    select = re.search(r'<select name="time_zone".*?</select>', html, re.S).group(0)
    return {label: re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', body)
            for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)}


@pytest.mark.parametrize(("language", "europe", "americas", "madrid", "new_york", "help_words"), [
    ("en-GB", "Europe", "Americas", "Madrid, Spain", "New York, United States", "9 in the morning"),
    ("es", "Europa", "América", "Madrid, España", "Nueva York, Estados Unidos", "9 de la mañana"),
])
def test_the_time_zone_is_on_the_profile_grouped_by_region_in_the_pages_language(
        user_client, language, europe, americas, madrid, new_york, help_words):
    html = profile_page(user_client, language)
    profile_form, reminder_form = form_html(html, "profile-form"), form_html(html, "reminder-form")
    assert 'name="time_zone"' in profile_form and 'name="time_zone"' not in reminder_form
    assert help_words in reminder_form  # the reminders say which zone they arrive in: the one above
    groups = option_groups(html)
    assert {europe, americas} <= set(groups) and len(groups) >= 8
    assert ("Europe/Madrid", madrid) in groups[europe]  # the IANA name kept, the city and country shown
    assert ("America/New_York", new_york) in groups[americas]
    listed = [value for zones in groups.values() for value, _text in zones]
    assert len(listed) == len(set(listed)) > 400  # every zone once: no aliases ("Asia/Calcutta")
    assert "Asia/Calcutta" not in listed and "Asia/Kolkata" in listed and "Etc/GMT+5" not in listed
    texts = [text for _value, text in groups[europe]]
    plain = [unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode().casefold() for t in texts]
    assert plain == sorted(plain)  # by name, in the reader's words ("Ámsterdam" among the A's)


@pytest.mark.parametrize(("language", "saved"), [("en-GB", "Profile saved."), ("es", "Perfil guardado.")])
def test_saving_a_time_zone_never_answers_reminders_switched_off(user_client, user, language, saved):
    response = save_profile(user_client, language, time_zone="Europe/Madrid")
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [saved]
    user.refresh_from_db()
    assert user.time_zone == "Europe/Madrid"
    assert not ReminderPreference.objects.filter(user=user).exists()  # no reminder was switched on, or off
    html = profile_page(user_client, language)
    assert re.search(r'<option value="Europe/Madrid" selected>', html)


def test_a_zone_that_is_not_one_is_refused_and_nothing_changes(user_client, user):
    save_profile(user_client, time_zone="Europe/Madrid")
    response = save_profile(user_client, display_name="Alice", time_zone="Mars/Olympus")
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    user.refresh_from_db()
    assert (user.time_zone, user.display_name) == ("Europe/Madrid", "")


def test_a_zone_outside_the_list_stays_chosen(user_client, user):
    """A zone the device reported under an older name (an alias) is still the person's until they change it."""
    user.time_zone = "Asia/Calcutta"
    user.save(update_fields=["time_zone"])
    html = profile_page(user_client, "es")
    assert re.search(r'<option value="Asia/Calcutta" selected>Calcuta, India</option>', html)
    assert save_profile(user_client, display_name="Alice", time_zone="Asia/Calcutta").status_code == 302
    user.refresh_from_db()
    assert (user.time_zone, user.display_name) == ("Asia/Calcutta", "Alice")


def test_reminders_follow_the_profiles_time_zone(user_client, user):
    user_client.post(reverse("reminders:settings"), {"frequency": "weekly"})
    pref = ReminderPreference.objects.get(user=user)
    assert pref.time_zone == "UTC" and pref.next_due_at.astimezone(ZoneInfo("UTC")).hour == 9
    due_day = pref.next_due_at.date()

    save_profile(user_client, time_zone="Europe/Madrid")
    pref.refresh_from_db()
    assert pref.frequency == "weekly" and pref.time_zone == "Europe/Madrid"
    assert pref.next_due_at == datetime(due_day.year, due_day.month, due_day.day, 9, tzinfo=MADRID)  # same day

    save_profile(user_client, time_zone="")  # "choose your time zone": pages follow the device again...
    pref.refresh_from_db()
    assert pref.time_zone == "Europe/Madrid"  # ...and reminders keep the zone they had
    reminder_services.send_due_reminders(now=pref.next_due_at)
    pref.refresh_from_db()
    assert pref.last_sent_at is not None
    assert pref.next_due_at.astimezone(MADRID).hour == 9


def test_turning_reminders_on_without_a_zone_takes_the_devices(user_client, user):
    """As the profile form preselects the device's zone (static/js/time-zone-default.js)."""
    user_client.cookies["facediag_tz"] = "America%2FNew_York"
    user_client.post(reverse("reminders:settings"), {"frequency": "monthly"})
    user.refresh_from_db()
    pref = ReminderPreference.objects.get(user=user)
    assert user.time_zone == pref.time_zone == "America/New_York"
    assert pref.next_due_at.astimezone(ZoneInfo("America/New_York")).hour == 9
