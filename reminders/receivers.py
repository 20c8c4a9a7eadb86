"""Reminders' part of an account's life (accounts.signals): accounts never imports reminders."""

from .forms import ReminderForm
from .models import ReminderPreference
from .selectors import reminder_initial


def follow_chosen_language(sender, user, language, **kwargs):
    """A language picked on the profile becomes the reminder e-mails' language too."""
    ReminderPreference.objects.filter(user=user).update(language=language)


def reminder_section(sender, user, **kwargs):
    """The reminder settings form on the profile page (it posts to reminders:settings)."""
    return {"reminder_form": ReminderForm(initial=reminder_initial(user))}
