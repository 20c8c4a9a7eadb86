from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("diagnosis", "0003_scan_heatmap_box"),
    ]

    operations = [
        migrations.AddField(
            model_name="scan",
            name="publish_failed",
            field=models.BooleanField(default=False),
        ),
    ]
