from django.db import models


class ModelVersion(models.Model):
    """A trained classifier artifact; exactly one is active for the workers."""

    name = models.CharField(max_length=100, unique=True)
    artifact_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, unique=True)
    classes = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_model_version"
            )
        ]

    def __str__(self):
        return self.name
