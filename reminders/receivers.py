"""Reminders' part of an account's life (accounts.signals): accounts never imports reminders."""

from . import services
from .forms import ReminderForm
from .models import ReminderPreference
from .selectors import reminder_initial


def follow_chosen_language(sender, user, language, **kwargs):
    """A language picked on the profile becomes the reminder e-mails' language too."""
    ReminderPreference.objects.filter(user=user).update(language=language)


def follow_chosen_time_zone(sender, user, time_zone, **kwargs):
    """A time zone picked on the profile is the reminders' too: they keep arriving at 9 in the morning."""
    services.follow_time_zone(user, time_zone)


def reminder_section(sender, user, **kwargs):
    """The reminder settings form on the profile page (it posts to reminders:settings)."""
    return {"reminder_form": ReminderForm(initial=reminder_initial(user))}
