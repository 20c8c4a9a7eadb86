from django import forms
from django.utils.translation import gettext_lazy as _

from facediag_site.lib.dates import known_time_zones

from .models import Frequency


def time_zone_choices():
    zones = sorted(name for name in known_time_zones() if "/" in name or name == "UTC")
    return [("", _("Choose your time zone"))] + [(name, name.replace("_", " ")) for name in zones]


class ReminderForm(forms.Form):
    frequency = forms.ChoiceField(label=_("Remind me to take a new photo"), choices=Frequency.choices)
    time_zone = forms.ChoiceField(
        label=_("My time zone"), choices=time_zone_choices, required=False,
        help_text=_("Your pages, charts and reports show times in this time zone, and reminders arrive at 9 in "
                    "the morning in it."),
    )
