from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Frequency, ReminderPreference

if TYPE_CHECKING:
    from accounts.models import User


def reminder_initial(user: User) -> dict[str, Any]:
    """The reminder form's current values (off, and no time zone yet, for someone who never chose)."""
    pref = ReminderPreference.objects.filter(user=user).first()
    if pref is None:
        return {"frequency": Frequency.OFF, "time_zone": user.time_zone}
    return {"frequency": pref.frequency, "time_zone": user.time_zone or pref.time_zone}

