from . import services


def audit_media_view(sender, scan, user, kind, **kwargs):
    """Every time someone other than the owner opens a scan's image, record who, which and when."""
    services.record_image_view(scan=scan, user=user, kind=kind)


def audit_note_view(sender, scan, user, **kwargs):
    """A superuser opened a scan's private note in the admin."""
    services.record_event(actor=user, action=services.AuditEvent.Action.NOTE_VIEWED, scan_id=scan.pk)


def audit_model_activation(sender, version, previous, via, actor=None, **kwargs):
    """A model version became active (``ml.signals.model_activated``), by whatever path."""
    services.record_activation(version=version, previous=previous, via=via, actor=actor)
