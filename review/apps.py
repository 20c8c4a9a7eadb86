from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from diagnosis.models import Scan
        from diagnosis.signals import (
            batch_results_stored,
            media_viewed_by_reviewer,
            note_viewed_in_admin,
            review_of_scan,
        )
        from ml.models import ModelVersion
        from ml.signals import model_activated

        from .receivers import answer_review_of_scan, audit_media_view, audit_model_activation, audit_note_view
        from .shadow import measure_batch

        media_viewed_by_reviewer.connect(audit_media_view, sender=Scan, dispatch_uid="review.audit_media_view")
        note_viewed_in_admin.connect(audit_note_view, sender=Scan, dispatch_uid="review.audit_note_view")
        model_activated.connect(audit_model_activation, sender=ModelVersion, dispatch_uid="review.audit_activation")
        # diagnosis sits below review and never imports it: it announces, review acts and answers.
        batch_results_stored.connect(measure_batch, sender=Scan, dispatch_uid="review.measure_batch")
        review_of_scan.connect(answer_review_of_scan, sender=Scan, dispatch_uid="review.answer_review_of_scan")
