"""One time, one style: the page, the chart, the PDF and the e-mail give a scan's time in the profile's
time zone and in the page language's date style (issue 23, point 2)."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from diagnosis import report
from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from reminders import services as reminder_services

pytestmark = pytest.mark.django_db

# 11:26 UTC on 4 December 2026 is 12:26 in Madrid (CET, UTC+1).
TAKEN = datetime(2026, 12, 4, 11, 26, tzinfo=UTC)


def scan_taken(user, moment, label="acne"):
    scan = ScanFactory(owner=user, label=label)
    Scan.objects.filter(id=scan.id).update(created_at=moment, completed_at=moment + timedelta(seconds=3))
    scan.refresh_from_db()
    return scan


@pytest.fixture
def in_madrid(user_client, user):
    user_client.post(reverse("profile"), {"display_name": "", "language": "", "time_zone": "Europe/Madrid"})
    user_client.post(reverse("reminders:settings"), {"frequency": "weekly"})
    return user_client


def pdf_text(data):
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_page_chart_pdf_and_email_agree_in_the_profiles_time_zone(in_madrid, user):
    scan = scan_taken(user, TAKEN)
    detail = in_madrid.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Scan of 4 Dec 2026, 12:26" in detail and "11:26" not in detail
    history = in_madrid.get(reverse("diagnosis:history")).content.decode()
    assert ">4 Dec 2026, 12:26<" in history
    point = in_madrid.get(reverse("diagnosis:chart-data")).json()["points"][0]
    assert (point["when"], point["day"], point["time"]) == ("4 Dec 2026, 12:26", "4 Dec 2026", "12:26")
    assert point["created_at"] == TAKEN.isoformat()  # the machine-readable time stays as it is
    pdf = pdf_text(in_madrid.get(reverse("diagnosis:report")).content)
    assert "4 Dec 2026, 12:26" in pdf and "11:26" not in pdf
    reminder_services.send_due_reminders(now=user.reminder.next_due_at)
    assert "Your last photo was on 4 Dec 2026." in mail.outbox[-1].body


def test_the_day_changes_where_the_person_lives(in_madrid, user):
    """23:30 UTC is already the next day in Madrid: the list, the chart and the e-mail say so."""
    scan_taken(user, datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    assert ">5 Dec 2026, 00:30<" in in_madrid.get(reverse("diagnosis:history")).content.decode()
    assert in_madrid.get(reverse("diagnosis:chart-data")).json()["points"][0]["day"] == "5 Dec 2026"
    reminder_services.send_due_reminders(now=user.reminder.next_due_at)
    assert "Your last photo was on 5 Dec 2026." in mail.outbox[-1].body


def test_spanish_pages_and_chart_use_the_spanish_date_style(in_madrid, user):
    user.language = "es"
    user.save(update_fields=["language"])
    scan = scan_taken(user, TAKEN)
    detail = in_madrid.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Análisis del 4 dic 2026, 12:26" in detail
    point = in_madrid.get(reverse("diagnosis:chart-data")).json()["points"][0]
    assert (point["when"], point["day"]) == ("4 dic 2026, 12:26", "4 dic 2026")
    assert "4 dic 2026, 12:26" in pdf_text(in_madrid.get(reverse("diagnosis:report")).content)


def test_one_date_style_on_a_page(in_madrid, user):
    """Every date on the result page (title, heading, photo, analysed) is written the one way."""
    scan = scan_taken(user, TAKEN)
    html = in_madrid.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    written = re.findall(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}(?:, \d\d:\d\d)?", html)
    assert len(written) >= 4
    assert all(re.fullmatch(r"4 Dec 2026(, 12:2[69])?", w) for w in written), written
    assert not re.search(r"\b(AM|PM)\b|December|Dec \d{1,2}, ", html)  # no US-style "Dec 4, 2026"


def test_without_a_profile_zone_the_devices_zone_is_used(user_client, user):
    scan = scan_taken(user, TAKEN)
    user_client.cookies["facediag_tz"] = "America%2FNew_York"  # as static/js/site.js writes it
    assert "Scan of 4 Dec 2026, 06:26" in user_client.get(
        reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    user_client.cookies["facediag_tz"] = "Mars/Olympus"  # not a zone: the server's default (UTC)
    assert "Scan of 4 Dec 2026, 11:26" in user_client.get(
        reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    user_client.post(reverse("profile"), {"display_name": "", "language": "", "time_zone": "Europe/Madrid"})
    user_client.cookies["facediag_tz"] = "America%2FNew_York"
    assert "Scan of 4 Dec 2026, 12:26" in user_client.get(  # the profile's zone wins
        reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()


def test_the_pdf_chart_writes_date_and_time_under_same_day_scans(in_madrid, user):
    """Matplotlib's date axis wrote "15 30 45 18:24" under scans of one afternoon."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone as tz

    scans = [scan_taken(user, TAKEN + timedelta(minutes=15 * i)) for i in range(4)]
    with tz.override(ZoneInfo("Europe/Madrid")):
        fig = report.trend_figure(scans)
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["4 Dec 2026\n12:26", "4 Dec 2026\n12:41", "4 Dec 2026\n12:56", "4 Dec 2026\n13:11"]


def test_a_long_history_gets_a_few_readable_dates_under_the_pdf_chart():
    few = [TAKEN + timedelta(days=i) for i in range(3)]
    assert report.time_ticks(few) == few  # a date under each scan
    many = [TAKEN + timedelta(hours=7 * i * i) for i in range(100)]  # ever further apart
    shown = report.time_ticks(many)
    assert shown[0] == many[0] and shown[-1] == many[-1] and len(shown) == report.MAX_TREND_TICKS
    gaps = {shown[i + 1] - shown[i] for i in range(len(shown) - 1)}
    assert max(gaps) - min(gaps) < timedelta(seconds=1)  # evenly spaced in time, not by scan


def test_the_pdf_chart_puts_scans_where_they_were_taken_in_time(in_madrid, user):
    """Issue 32: one step per scan made 26 days look like one minute."""
    taken = [TAKEN, TAKEN + timedelta(minutes=1), TAKEN + timedelta(days=26)]
    scans = [scan_taken(user, moment) for moment in taken]
    line = report.trend_figure(scans).axes[0].get_lines()[0]
    x = list(line.get_xdata())
    assert x[1] - x[0] == pytest.approx(1 / 1440) and x[2] - x[1] == pytest.approx(26 - 1 / 1440)


def test_the_zone_list_is_read_from_disk_once_not_per_request(client, monkeypatch):
    """Finding L4 (issue 30): every request with a time zone listed all zones from disk (~600 files):
    anonymous / went from 1.8 to 8.6 ms. The list is now read once per process."""
    import zoneinfo

    from facediag_site.lib import dates

    listings = []

    def counted_listing():
        listings.append(1)
        return zoneinfo.available_timezones()

    monkeypatch.setattr(dates, "available_timezones", counted_listing)
    dates.known_time_zones.cache_clear()
    client.cookies["facediag_tz"] = "Europe/Madrid"
    for _ in range(5):
        assert client.get("/").status_code == 200
    assert len(listings) <= 1
