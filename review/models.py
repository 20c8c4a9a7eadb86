from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diagnosis.models import CONDITIONS, with_conditions
from ml.core.lesions import GRADES

# A reviewer's label: a condition, or "the photo cannot be judged".
ReviewLabel = with_conditions("ReviewLabel", __name__, ("UNUSABLE", "unusable", _("Unusable photo")))


USABLE_LABELS = tuple(CONDITIONS)  # every review label except "unusable"
#: A reviewer's acne grade: ml.core.lesions.GRADES by number (0 mild ... 3 very severe).
LESION_GRADE_CHOICES = list(enumerate(GRADES))


class AuditEventImmutable(Exception):
    """Audit events are append-only."""


class Review(models.Model):
    """A clinician's label for one scan. One review per scan: a re-review updates it (and is audited)."""

    scan = models.OneToOneField("diagnosis.Scan", on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    label = models.CharField(max_length=12, choices=ReviewLabel.choices, db_index=True)
    model_label = models.CharField(max_length=12, blank=True, help_text="The model's label when it was reviewed.")
    comment = models.TextField(blank=True, max_length=2000)
    # The reviewer's acne grade (Hayashi 0-3, ml.core.lesions.GRADES) for a scan read as acne, beside what the
    # lesion readout said when it was reviewed; null where not graded. Exported as lesion_grades.csv.
    lesion_grade = models.PositiveSmallIntegerField(null=True, blank=True, choices=LESION_GRADE_CHOICES)
    model_lesion_grade = models.PositiveSmallIntegerField(null=True, blank=True, choices=LESION_GRADE_CHOICES)
    model_lesion_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Review of {self.scan_id}: {self.label}"

    @property
    def lesion_grade_corrected(self) -> bool:
        return self.lesion_grade is not None and self.lesion_grade != self.model_lesion_grade

    @property
    def usable(self):
        return self.label != ReviewLabel.UNUSABLE

    @property
    def agrees(self):
        return self.usable and self.label == self.model_label


class AuditEvent(models.Model):
    """Append-only record of who did what to which scan, and when.

    No foreign key to the scan and no personal data of the scan's owner: the row survives the scan's and
    the owner's deletion and then points at nothing. The actor (a staff member) is kept as a reference
    even if their account is deleted.
    """

    class Action(models.TextChoices):
        REVIEW_CREATED = "review.created", "Review created"
        REVIEW_UPDATED = "review.updated", "Review updated"
        IMAGE_VIEWED = "image.viewed", "Image viewed"
        NOTE_VIEWED = "note.viewed", "Owner's note viewed (admin)"
        EXPORT_CREATED = "export.created", "Training export created"
        MODEL_ACTIVATED = "model.activated", "Model version activated"
        MODEL_PROMOTED = "model.promoted", "Model promotion accepted"
        MODEL_PROMOTION_REFUSED = "model.promotion_refused", "Model promotion refused"
        MODEL_ROLLED_BACK = "model.rolled_back", "Model version rolled back"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor_ref = models.CharField(max_length=64, blank=True, help_text="The actor's user id, kept after deletion.")
    # Model changes made from the command line have no account: who ran it (--actor, else the OS user).
    actor_name = models.CharField(max_length=150, blank=True, help_text="The operator who ran the command.")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    scan_id = models.UUIDField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_ref or self.actor_name or 'system'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventImmutable("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("Audit events cannot be deleted.")


class ModelResult(models.Model):
    """One model version's result on one scan, kept apart from the scan's own result: the active version's
    (``served``, with the photo's skin tone and feature distance, which the scan does not keep), the shadow
    version's (never shown to the scan's owner, the API or reviewers), or a re-scoring's of a stored photo.
    What the dashboard, the promotion gate and the drift check measure."""

    class Kind(models.TextChoices):
        SERVED = "served", "Served (active version)"
        SHADOW = "shadow", "Shadow"
        RESCORED = "rescored", "Re-scored from the stored photo"

    scan = models.ForeignKey("diagnosis.Scan", on_delete=models.CASCADE, related_name="model_results")
    model_version = models.ForeignKey("ml.ModelVersion", on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    label = models.CharField(max_length=12)
    reason = models.CharField(max_length=32, blank=True)
    probabilities = models.JSONField(default=dict)
    top_probability = models.FloatField()
    quality = models.JSONField(default=dict, blank=True)
    # The photo's individual typology angle band (ml.core.report.ITA_GROUPS, "unknown" without one).
    tone = models.CharField(max_length=16, default="unknown")
    # How far the photo's features lie from the model's skin photos (ml.core.ood); None for models without.
    feature_distance = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scan", "model_version"], name="one_result_per_scan_and_version")
        ]
        indexes = [models.Index(fields=["model_version", "kind"])]

    def __str__(self):
        return f"{self.kind} result of {self.model_version_id} on {self.scan_id}: {self.label}"


class DriftReport(models.Model):
    """The daily comparison of the last days' scans with the weeks before (see review.drift)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    baseline_start = models.DateTimeField()
    recent_start = models.DateTimeField()
    recent_end = models.DateTimeField()
    baseline_n = models.PositiveIntegerField()
    recent_n = models.PositiveIntegerField()
    alpha = models.FloatField()
    drifted = models.BooleanField()
    checks = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Drift report {self.recent_end:%Y-%m-%d}: {'drifted' if self.drifted else 'no drift'}"
