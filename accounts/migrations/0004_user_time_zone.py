from django.db import migrations, models


def copy_reminder_time_zones(apps, schema_editor):
    """The time zone people chose with their reminders becomes their profile's."""
    User = apps.get_model("accounts", "User")
    ReminderPreference = apps.get_model("reminders", "ReminderPreference")
    for user_id, zone in ReminderPreference.objects.exclude(time_zone="").values_list("user_id", "time_zone"):
        User.objects.filter(pk=user_id, time_zone="").update(time_zone=zone)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_email_verified_at_password_changed_at"),
        ("reminders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="time_zone",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(copy_reminder_time_zones, migrations.RunPython.noop),
    ]
