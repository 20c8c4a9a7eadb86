from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # reminders sits on accounts: accounts announces, reminders acts (accounts imports no reminders code).
        from accounts.signals import language_chosen, profile_page, time_zone_chosen

        from .receivers import follow_chosen_language, follow_chosen_time_zone, reminder_section

        language_chosen.connect(follow_chosen_language, dispatch_uid="reminders.follow_chosen_language")
        time_zone_chosen.connect(follow_chosen_time_zone, dispatch_uid="reminders.follow_chosen_time_zone")
        profile_page.connect(reminder_section, dispatch_uid="reminders.reminder_section")
