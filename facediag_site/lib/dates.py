"""The one way a date or time is written for a person: in their time zone and their language's style.

Pages (the ``when`` and ``day`` template filters), the history chart's data, the PDF report and the
e-mails all use these, so the same scan reads the same everywhere ("4 Dec 2026, 12:26"; "4 dic 2026,
12:26" in Spanish). The styles are the format modules' DATE_FORMAT / DATETIME_FORMAT
(``facediag_site/formats``); the time zone is the active one (the profile's, see
``accounts.middleware.ProfileTimeZoneMiddleware``) unless one is given.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, tzinfo
from zoneinfo import available_timezones

from django.utils import formats, timezone


def _local(moment: datetime, zone: tzinfo | None) -> datetime:
    if timezone.is_naive(moment):
        return moment
    return timezone.localtime(moment, zone)


def when(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """Date and time, e.g. "4 Dec 2026, 12:26"."""
    if moment is None:
        return ""
    return formats.date_format(_local(moment, zone), "DATETIME_FORMAT")


def day(moment: datetime | date | None, zone: tzinfo | None = None) -> str:
    """The date alone, e.g. "4 Dec 2026"."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = _local(moment, zone)
    return formats.date_format(moment, "DATE_FORMAT")


def time_of_day(moment: datetime, zone: tzinfo | None = None) -> str:
    """The time alone, e.g. "12:26"."""
    return formats.time_format(_local(moment, zone), "TIME_FORMAT")


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names, listed once per process: available_timezones() walks ~600 files each call, and
    every request with a time zone asks."""
    return frozenset(available_timezones())


def valid_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (the profile's, the device's cookie)."""
    return name in known_time_zones()
