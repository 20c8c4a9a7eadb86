from django.db import models


class ModelVersion(models.Model):
    """A trained classifier artifact. Exactly one is active (its results are served); at most one other is
    the shadow (workers run it on the same scans and store its results apart, never served)."""

    name = models.CharField(max_length=100, unique=True)
    artifact_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, unique=True)
    classes = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)
    shadow = models.BooleanField(default=False)
    # When it last became active: the rollback goes back to the most recently active other version.
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_model_version"
            ),
            models.UniqueConstraint(
                fields=["shadow"], condition=models.Q(shadow=True), name="one_shadow_model_version"
            ),
            models.CheckConstraint(
                condition=~models.Q(active=True, shadow=True), name="model_version_not_active_and_shadow"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def role(self) -> str:
        """"active", "shadow", "past" (was active once) or "registered"."""
        if self.active:
            return "active"
        if self.shadow:
            return "shadow"
        return "past" if self.activated_at else "registered"
