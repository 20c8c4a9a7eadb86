"""The owner's own data export (GDPR-style): a zip of data.json and every stored photo."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from .. import readouts, storage
from ..models import Scan
from ..selectors import clinician_review, scan_photos

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def scan_as_dict(scan: Scan) -> dict[str, Any]:
    """One scan as it appears in data.json."""
    review = clinician_review(scan)
    photos = scan_photos(scan)
    first = photos[0] if photos else None
    return {
        "id": str(scan.id),
        "created_at": scan.created_at.isoformat(),
        "status": scan.status,
        "label": scan.label,
        "probabilities": scan.probabilities,
        "quality": scan.quality,
        "model_version": scan.model_version.name if scan.model_version else None,
        "note": scan.note,
        "error": scan.error,
        "image_file": _image_file(scan, first.view) if first and first.files.image else None,
        "review": {"label": review.label, "reviewed_at": review.reviewed_at.isoformat()} if review else None,
        "lesions": readouts.LESIONS.api_value(first) if first else None,  # the first photo's, as in the API
        # Every photo of the scan, front first, with what it showed on its own (the first one is image_file)
        # and its readouts (the heatmap's crop box, the lesions), by name.
        "photos": [
            {"view": photo.view, "image_file": _image_file(scan, photo.view) if photo.files.image else None,
             "result": photo.result, "readouts": readouts.api_values(photo)}
            for photo in photos
        ],
    }


def _image_file(scan: Scan, view: str) -> str:
    return f"images/{scan.id}-{view}.jpg"


def build_data_export(user: User) -> bytes:
    """A zip with data.json (account and scans) and every stored photo."""
    buffer = io.BytesIO()
    scans = list(Scan.objects.filter(owner=user).select_related("model_version").prefetch_related("photos")
                 .order_by("created_at"))
    payload = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "date_joined": user.date_joined.isoformat(),
            "consent_training": user.consent_training,
        },
        "disclaimer": settings.DISCLAIMER,
        "scans": [scan_as_dict(s) for s in scans],
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(payload, indent=2))
        for scan in scans:
            for photo in scan_photos(scan):
                if not photo.files.image:
                    continue
                try:
                    archive.writestr(_image_file(scan, photo.view), storage.read_bytes(photo.files.image.name))
                except FileNotFoundError:
                    logger.warning("scan %s: %s photo missing from export", scan.id, photo.view)
    return buffer.getvalue()
