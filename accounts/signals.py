"""What accounts announces, so that the apps built on accounts (diagnosis, reminders) act on an account's
life without accounts importing them: accounts sits below every app that has an owner (docs/architecture.md).
Each app connects its receivers in its AppConfig.ready."""

from django.dispatch import Signal

#: Sent by accounts.services.delete_account inside its transaction, before the user row goes, with
#: ``user``: every app deletes what the person has (diagnosis: the scans and their stored files).
account_deleting = Signal()

#: Sent by accounts.services.update_profile when the person picks a language (not "follow the browser"),
#: with ``user`` and ``language``: reminders writes its e-mails in it.
language_chosen = Signal()

#: Sent by accounts.services.update_profile when the person picks a time zone (not blank), with ``user`` and
#: ``time_zone`` (an IANA name): reminders go out at 9 in the morning there.
time_zone_chosen = Signal()

#: Sent when the profile page is built, with ``user``; each receiver answers a dict added to the page's
#: template context: its own section (reminders: its settings form).
profile_page = Signal()
