from . import services


def audit_media_view(sender, scan, user, kind, **kwargs):
    """Every time someone other than the owner opens a scan's image, record who, which and when."""
    services.record_image_view(scan=scan, user=user, kind=kind)
