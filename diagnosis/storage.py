"""Scan files live in Django's default storage: local files by default, an S3-compatible bucket when
FACEDIAG_S3_BUCKET is set. Code here and in services works by storage name (key), never by local path."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.files.storage import default_storage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .models import Scan, ScanPhoto

logger = logging.getLogger(__name__)

try:  # S3 clients fail with botocore errors, which are not OSErrors
    from botocore.exceptions import BotoCoreError, ClientError

    STORAGE_ERRORS: tuple = (OSError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - boto3 is only needed for object storage
    STORAGE_ERRORS = (OSError,)


def read_bytes(name: str | None) -> bytes:
    """The stored file's content; FileNotFoundError when it is gone, a STORAGE_ERRORS error when storage fails."""
    with default_storage.open(name or "", "rb") as fh:
        return fh.read()


def delete_quietly(name: str | None) -> None:
    """Delete a stored file if there is one; a storage failure is logged, never raised (the row goes anyway)."""
    if name:
        try:
            default_storage.delete(name)
        except STORAGE_ERRORS:
            logger.warning("could not delete a media file")
        from .face_alignment import forget_face  # what the compare view kept about the photo goes with it

        forget_face(name)


def scan_file_names(scan: Scan, photos: Iterable[ScanPhoto] | None = None) -> list[str]:
    """The storage names of every file of a scan: each photo's image, thumbnail and heatmap (``photos``;
    default: the scan's stored ScanPhoto rows)."""
    if photos is None:
        photos = scan.photos.all() if not scan._state.adding else ()
    files = [f for photo in photos for f in (photo.image, photo.thumbnail, photo.heatmap)]
    return [str(f.name) for f in files if f]


def delete_scan_files(scan: Scan, photos: Iterable[ScanPhoto] | None = None) -> None:
    """Delete every photo, thumbnail and heatmap of a scan from storage (the rows are the caller's business)."""
    for name in scan_file_names(scan, photos):
        delete_quietly(name)
