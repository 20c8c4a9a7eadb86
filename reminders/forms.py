from zoneinfo import available_timezones

from django import forms

from .models import Frequency


def time_zone_choices():
    zones = sorted(name for name in available_timezones() if "/" in name or name == "UTC")
    return [("", "Choose your time zone")] + [(name, name.replace("_", " ")) for name in zones]


class ReminderForm(forms.Form):
    frequency = forms.ChoiceField(label="Remind me to take a new photo", choices=Frequency.choices)
    time_zone = forms.ChoiceField(
        label="My time zone", choices=time_zone_choices, required=False,
        help_text="Reminders arrive at 9 in the morning in this time zone.",
    )
