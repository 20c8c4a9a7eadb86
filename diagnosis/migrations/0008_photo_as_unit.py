"""The photo as the unit of a result: the front photo moves from Scan's own fields to a ScanPhoto row like
the side photos, and every photo's own result (Scan.photo_results) moves onto its row. Reversible."""

import django.db.models.deletion
from django.db import migrations, models


VIEWS = ("front", "left", "right")
#: The columns the front photo had on Scan, now on its ScanPhoto row.
PHOTO_COLUMNS = ("image", "thumbnail", "heatmap", "heatmap_box", "image_width", "image_height", "lesions")
RESULT_COLUMNS = ("label", "reason", "probabilities", "quality", "counted")


def _legacy_front_result(scan):
    """A scan finished before scans had several photos kept no per-photo result: its one photo's is the scan's."""
    return {"view": "front", "label": scan.label, "reason": scan.reason, "probabilities": scan.probabilities or {},
            "quality": scan.quality or {}, "counted": scan.label != "no_skin" and scan.reason != "no_colour"}


def photos_to_rows(apps, schema_editor):
    Scan = apps.get_model("diagnosis", "Scan")
    ScanPhoto = apps.get_model("diagnosis", "ScanPhoto")
    for photo in ScanPhoto.objects.all().iterator():
        photo.position = VIEWS.index(photo.view)
        photo.save(update_fields=["position"])
    for scan in Scan.objects.all().iterator(chunk_size=500):
        results = {r.get("view"): r for r in (scan.photo_results or [])} if scan.status == "done" else {}
        if scan.status == "done" and not results and scan.label:
            results["front"] = _legacy_front_result(scan)
        ScanPhoto.objects.create(scan=scan, view="front", position=0,
                                 **{c: getattr(scan, c) for c in PHOTO_COLUMNS})
        for view, result in results.items():
            if view not in VIEWS:
                continue
            ScanPhoto.objects.filter(scan=scan, view=view).update(
                label=result.get("label") or "", reason=result.get("reason") or "",
                probabilities=result.get("probabilities") or {}, quality=result.get("quality") or {},
                counted=bool(result.get("counted", True)))


def rows_to_photos(apps, schema_editor):
    Scan = apps.get_model("diagnosis", "Scan")
    ScanPhoto = apps.get_model("diagnosis", "ScanPhoto")
    for scan in Scan.objects.all().iterator(chunk_size=500):
        photos = list(ScanPhoto.objects.filter(scan=scan).order_by("position"))
        front = next((p for p in photos if p.view == "front"), None)
        if front is not None:
            for column in PHOTO_COLUMNS:
                setattr(scan, column, getattr(front, column))
        scan.photo_results = [
            {"view": p.view, "label": p.label, "reason": p.reason, "probabilities": p.probabilities,
             "quality": p.quality, "counted": bool(p.counted)}
            for p in photos if p.label
        ]
        scan.save(update_fields=[*PHOTO_COLUMNS, "photo_results"])
    ScanPhoto.objects.filter(view="front").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('diagnosis', '0007_scan_lesions'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='scanphoto',
            options={'ordering': ['position']},
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='counted',
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='label',
            field=models.CharField(blank=True, choices=[('acne', 'Acne'), ('eczema', 'Eczema'), ('healthy', 'Healthy'), ('rosacea', 'Rosacea'), ('uncertain', 'Uncertain'), ('no_skin', 'No skin found')], max_length=12),
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='position',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='probabilities',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='quality',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='scanphoto',
            name='reason',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='scanphoto',
            name='scan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='photos', to='diagnosis.scan'),
        ),
        migrations.AlterField(
            model_name='scanphoto',
            name='view',
            field=models.CharField(choices=[('front', 'Front'), ('left', 'Left side'), ('right', 'Right side')], max_length=8),
        ),
        migrations.RunPython(photos_to_rows, rows_to_photos),
        migrations.RemoveField(model_name='scan', name='heatmap'),
        migrations.RemoveField(model_name='scan', name='heatmap_box'),
        migrations.RemoveField(model_name='scan', name='image'),
        migrations.RemoveField(model_name='scan', name='image_height'),
        migrations.RemoveField(model_name='scan', name='image_width'),
        migrations.RemoveField(model_name='scan', name='lesions'),
        migrations.RemoveField(model_name='scan', name='photo_results'),
        migrations.RemoveField(model_name='scan', name='thumbnail'),
    ]
