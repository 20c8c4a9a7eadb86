from django.db import migrations, models


def existing_accounts_count_as_confirmed(apps, schema_editor):
    # Accounts made before confirmation existed were usable with their password; they stay so (see README).
    User = apps.get_model("accounts", "User")
    User.objects.filter(email_verified_at__isnull=True).update(email_verified_at=models.F("date_joined"))


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_user_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="e-mail address confirmed"),
        ),
        migrations.AddField(
            model_name="user",
            name="password_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(existing_accounts_count_as_confirmed, migrations.RunPython.noop),
    ]
