from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Frequency, ReminderPreference

if TYPE_CHECKING:
    from accounts.models import User


def reminder_initial(user: User) -> dict[str, Any]:
    """The reminder form's current value (off for someone who never chose)."""
    pref = ReminderPreference.objects.filter(user=user).first()
    return {"frequency": pref.frequency if pref else Frequency.OFF}

