from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("diagnosis", "0004_scan_completed_at_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="scan",
            name="publish_failed",
            field=models.BooleanField(default=False),
        ),
    ]
