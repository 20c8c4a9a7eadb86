"""A new scan from an uploaded photo; the owner's note; deleting scans."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from facediag_site import metrics

from .. import storage
from ..imaging import clean_upload, read_upload
from ..models import Scan
from .queue import enqueue_analysis

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

NOTE_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_MAX_LENGTH = 100


def create_scan(
    *, owner: User, uploaded_file: UploadedFile, note: str = "", idempotency_key: str = ""
) -> tuple[Scan, bool]:
    """Validate and store an upload, then queue its analysis. Returns (scan, created)."""
    idempotency_key = (idempotency_key or "").strip()[:IDEMPOTENCY_KEY_MAX_LENGTH]
    if idempotency_key:
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    data = read_upload(uploaded_file, settings.SCAN_MAX_UPLOAD_BYTES)
    clean = clean_upload(
        data,
        max_bytes=settings.SCAN_MAX_UPLOAD_BYTES,
        max_pixels=settings.SCAN_MAX_PIXELS,
        min_side=settings.SCAN_MIN_SIDE,
        stored_max_side=settings.SCAN_STORED_MAX_SIDE,
    )
    scan = Scan(
        owner=owner,
        note=(note or "")[:NOTE_MAX_LENGTH],
        idempotency_key=idempotency_key,
        image_width=clean.width,
        image_height=clean.height,
    )
    scan.image.save("upload.jpg", ContentFile(clean.jpeg), save=False)
    scan.thumbnail.save("thumb.jpg", ContentFile(clean.thumbnail_jpeg), save=False)
    try:
        with transaction.atomic():
            scan.save(force_insert=True)
            transaction.on_commit(lambda: enqueue_analysis(scan.id))
    except IntegrityError:
        storage.delete_scan_files(scan)
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if idempotency_key and existing:
            return existing, False  # a concurrent request with the same key won
        raise
    except Exception:
        storage.delete_scan_files(scan)
        raise
    logger.info("scan %s uploaded", scan.id)
    metrics.scan_accepted()
    return scan, True


def update_scan_note(scan: Scan, note: str) -> Scan:
    scan.note = (note or "")[:NOTE_MAX_LENGTH]
    scan.save(update_fields=["note", "updated_at"])
    return scan


def delete_scan(scan: Scan) -> None:
    """Delete the scan; its files go once the deletion is committed (a rollback keeps them)."""
    names = [f.name for f in (scan.image, scan.thumbnail, scan.heatmap) if f]

    def delete_files() -> None:
        for name in names:
            storage.delete_quietly(name)

    with transaction.atomic():
        scan.delete()
        transaction.on_commit(delete_files)


def delete_all_scans(owner: User) -> None:
    for scan in Scan.objects.filter(owner=owner):
        delete_scan(scan)
