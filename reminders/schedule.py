"""When the next reminder is due: the chosen interval later, at a fixed local hour in the person's time zone."""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import Frequency

LOCAL_SEND_HOUR = 9  # 09:00 where the person lives: a morning reminder, never at night


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def next_due(after: datetime, frequency: str, time_zone: str) -> datetime | None:
    """The first reminder time one interval after `after` (aware), at LOCAL_SEND_HOUR local time."""
    if frequency == Frequency.OFF:
        return None
    tz = zone(time_zone)
    local_day = after.astimezone(tz).date()
    if frequency == Frequency.WEEKLY:
        day = local_day + timedelta(days=7)
    elif frequency == Frequency.FORTNIGHTLY:
        day = local_day + timedelta(days=14)
    else:
        day = _add_month(local_day)
    return datetime.combine(day, time(LOCAL_SEND_HOUR), tzinfo=tz)


def same_day_elsewhere(due: datetime, old_zone: str, new_zone: str) -> datetime:
    """A reminder due at LOCAL_SEND_HOUR in ``old_zone``: the same day's LOCAL_SEND_HOUR in ``new_zone``."""
    return datetime.combine(due.astimezone(zone(old_zone)).date(), time(LOCAL_SEND_HOUR), tzinfo=zone(new_zone))
