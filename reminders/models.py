from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Frequency(models.TextChoices):
    OFF = "off", _("No reminders")
    WEEKLY = "weekly", _("Every week")
    FORTNIGHTLY = "fortnightly", _("Every two weeks")
    MONTHLY = "monthly", _("Every month")


class ReminderPreference(models.Model):
    """A person's opt-in to e-mails that remind them to take a new photo; off unless they turn it on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder")
    frequency = models.CharField(max_length=12, choices=Frequency.choices, default=Frequency.OFF)
    time_zone = models.CharField(max_length=64, default="UTC")  # IANA name: reminders go out at 09:00 there
    language = models.CharField(max_length=10, default="en-gb")  # the e-mails' language, chosen when opting in
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Reminders for user {self.user_id}: {self.frequency}"
