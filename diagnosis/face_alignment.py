"""The compare slider's alignment (issue 32): where the face is on each stored photo, found by the server's face
detector (ml.core.faces) the first time a photo is compared and kept in Django's cache by the photo's storage
name, and the similarity transform (ml.core.alignment) that lays the newer face over the older one. The page
composes it with how each photo is drawn (static/js/compare-slider.js).
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

from .models import ScanPhoto
from .storage import STORAGE_ERRORS, read_bytes

logger = logging.getLogger(__name__)

#: A photo's face is found again after this long (a week): a photo deleted meanwhile leaves only its key.
CACHE_SECONDS = 7 * 24 * 3600
NO_FACE: dict = {}  # cached for a photo without a face, so it is not searched again
IMAGE_PREFIX = "scans/"  # diagnosis.models.scan_image_path: where photos' images are stored


def cache_key(name: str) -> str:
    return "facediag:face-geometry:v1:" + hashlib.sha256(name.encode()).hexdigest()


def forget_face(name: str) -> None:
    """Drop what was kept about a photo that is being deleted (diagnosis.storage.delete_quietly): only photos'
    images are ever looked at, never thumbnails or heatmaps."""
    if not name.startswith(IMAGE_PREFIX):
        return
    try:
        cache.delete(cache_key(name))
    except Exception:  # noqa: BLE001 - Redis down: the entry expires within CACHE_SECONDS
        logger.info("could not drop a photo's face geometry from the cache")


def photo_face(photo: ScanPhoto | None):
    """-> ml.core.alignment.FaceGeometry of the photo's face, or None (no photo, no face, file unreadable)."""
    from ml.core import alignment, faces, preprocess

    if photo is None or not photo.image:
        return None
    key = cache_key(photo.image.name or "")
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 - Redis down: find the face again, show the page
        hit = None
    if hit is not None:
        return alignment.FaceGeometry.from_json(hit) if hit else None
    try:
        data = read_bytes(photo.image.name)
        rgb, scale = preprocess.decode(data, draft_side=preprocess.DECODE_SIDE)
    except (FileNotFoundError, preprocess.InvalidImage, *STORAGE_ERRORS) as exc:
        logger.info("no face geometry for a photo: %s", type(exc).__name__)
        return None
    face = faces.detect_face(rgb)
    height, width = rgb.shape[:2]
    geometry = (alignment.FaceGeometry.from_face(face, round(width * scale), round(height * scale), scale)
                if face is not None else None)
    try:
        cache.set(key, geometry.to_json() if geometry else NO_FACE, CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - not kept this time
        pass
    return geometry


def slider_alignment(before: ScanPhoto | None, after: ScanPhoto | None) -> dict | None:
    """What the slider needs to lay ``after``'s face over ``before``'s: {"transform" (after's pixels to
    before's), "before" and "after" (each photo's face geometry)}; None when either face is not found."""
    from ml.core import alignment

    face_before, face_after = photo_face(before), photo_face(after)
    if face_before is None or face_after is None:
        return None
    transform = alignment.align(face_before, face_after)
    if transform is None:
        return None
    return {"transform": transform.to_json(), "before": face_before.to_json(), "after": face_after.to_json()}
