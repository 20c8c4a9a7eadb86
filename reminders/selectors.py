from .models import Frequency, ReminderPreference


def reminder_initial(user) -> dict:
    """The reminder form's current values (off, and no time zone yet, for someone who never chose)."""
    pref = ReminderPreference.objects.filter(user=user).first()
    if pref is None:
        return {"frequency": Frequency.OFF, "time_zone": ""}
    return {"frequency": pref.frequency, "time_zone": pref.time_zone}
