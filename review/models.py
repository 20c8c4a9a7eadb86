from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from diagnosis.models import CONDITIONS, with_conditions

# A reviewer's label: a condition, or "the photo cannot be judged".
ReviewLabel = with_conditions("ReviewLabel", __name__, ("UNUSABLE", "unusable", _("Unusable photo")))


USABLE_LABELS = tuple(CONDITIONS)  # every review label except "unusable"


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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Review of {self.scan_id}: {self.label}"

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

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor_ref = models.CharField(max_length=64, blank=True, help_text="The actor's user id, kept after deletion.")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    scan_id = models.UUIDField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_ref or 'system'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventImmutable("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("Audit events cannot be deleted.")
