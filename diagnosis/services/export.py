"""The owner's own data export (GDPR-style): a zip of data.json and every stored photo."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from review.selectors import review_of

from .. import storage
from ..models import Scan

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def scan_as_dict(scan: Scan) -> dict[str, Any]:
    """One scan as it appears in data.json."""
    review = review_of(scan)
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
        "image_file": f"images/{scan.id}.jpg" if scan.image else None,
        "review": {"label": review.label, "reviewed_at": review.created_at.isoformat()} if review else None,
    }


def build_data_export(user: User) -> bytes:
    """A zip with data.json (account and scans) and every stored photo."""
    buffer = io.BytesIO()
    scans = list(Scan.objects.filter(owner=user).select_related("model_version").order_by("created_at"))
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
            if scan.image:
                try:
                    archive.writestr(f"images/{scan.id}.jpg", storage.read_bytes(scan.image.name))
                except FileNotFoundError:
                    logger.warning("scan %s: photo missing from export", scan.id)
    return buffer.getvalue()
