from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Frequency


class ReminderForm(forms.Form):
    """How often; the time zone they arrive in is the profile's (accounts.forms.ProfileForm): one setting."""

    frequency = forms.ChoiceField(
        label=_("Remind me to take a new photo"), choices=Frequency.choices,
        help_text=_("Reminders arrive at 9 in the morning in the time zone chosen above."),
    )
