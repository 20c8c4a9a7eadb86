from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from diagnosis.models import Scan
        from diagnosis.signals import media_viewed_by_reviewer, note_viewed_in_admin
        from ml.models import ModelVersion
        from ml.signals import model_activated

        from . import metrics
        from .receivers import audit_media_view, audit_model_activation, audit_note_view

        media_viewed_by_reviewer.connect(audit_media_view, sender=Scan, dispatch_uid="review.audit_media_view")
        note_viewed_in_admin.connect(audit_note_view, sender=Scan, dispatch_uid="review.audit_note_view")
        model_activated.connect(audit_model_activation, sender=ModelVersion, dispatch_uid="review.audit_activation")
        metrics.register()
