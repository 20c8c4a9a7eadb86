from diagnosis.selectors import ClinicianReview

from . import selectors, services


def audit_media_view(sender, scan, user, kind, view="front", **kwargs):
    """Every time someone other than the owner opens a scan's image, record who, which and when."""
    services.record_image_view(scan=scan, user=user, kind=kind, view=view)


def audit_note_view(sender, scan, user, **kwargs):
    """A superuser opened a scan's private note in the admin."""
    services.record_event(actor=user, action=services.AuditEvent.Action.NOTE_VIEWED, scan_id=scan.pk)


def audit_model_activation(sender, version, previous, via, actor=None, reason="", **kwargs):
    """A model version became active (``ml.signals.model_activated``), by whatever path."""
    services.record_activation(version=version, previous=previous, via=via, actor=actor, reason=reason)


def answer_review_of_scan(sender, scan, **kwargs):
    """``diagnosis.signals.review_of_scan``: the scan's review for the owner's report and export, or None."""
    review = selectors.review_of(scan)
    if review is None:
        return None
    return ClinicianReview(label=review.label, label_display=review.get_label_display(),
                           reviewed_at=review.created_at)
