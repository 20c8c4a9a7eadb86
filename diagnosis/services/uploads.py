"""A new scan from its uploaded photos (front, and optionally left and right); the owner's note; deleting scans."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from facediag_site import metrics

from .. import backpressure, rate_limits, storage
from ..imaging import CleanImage, UploadRejected, clean_upload, read_upload
from ..models import EXTRA_VIEWS, MAX_PHOTOS_PER_SCAN, PHOTO_VIEWS, PhotoView, Scan, ScanPhoto, photo_field
from .queue import enqueue_analysis

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

NOTE_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_MAX_LENGTH = 100


def check_photo_parts(files: Mapping[str, Any]) -> None:
    """Refuse an upload whose files do not fit a scan (UploadRejected): more than MAX_PHOTOS_PER_SCAN
    photos, a file under a field that is not a photo field, or two files under one field. ``files`` is the
    request's files (a MultiValueDict: ``getlist`` gives every file sent under a field)."""
    fields = {photo_field(view) for view in PHOTO_VIEWS}
    sent = {name: len(files.getlist(name)) if hasattr(files, "getlist") else 1 for name in files}
    if sum(sent.values()) > MAX_PHOTOS_PER_SCAN:
        raise UploadRejected("too_many_photos", gettext(
            "A scan holds at most %(count)d photos: the front (image), the left side (image_left) and the "
            "right side (image_right).") % {"count": MAX_PHOTOS_PER_SCAN})
    for name, count in sorted(sent.items()):
        if name not in fields:
            raise UploadRejected("invalid", gettext(
                "“%(field)s” is not a photo field: send the photos as image, image_left and image_right.")
                % {"field": name[:50]}, field=name[:50])
        if count > 1:
            raise UploadRejected("invalid", gettext(
                "Send one photo per field: the front as image, the sides as image_left and image_right."),
                field=name)


def _clean_photo(uploaded_file: UploadedFile | None, view: str) -> CleanImage:
    """Read and check one photo; a rejection names the photo (its field, and its side for the other photos)."""
    try:
        data = read_upload(uploaded_file, settings.SCAN_MAX_UPLOAD_BYTES)
        return clean_upload(
            data,
            max_bytes=settings.SCAN_MAX_UPLOAD_BYTES,
            max_pixels=settings.SCAN_MAX_PIXELS,
            min_side=settings.SCAN_MIN_SIDE,
            stored_max_side=settings.SCAN_STORED_MAX_SIDE,
            decode_max_pixels=settings.SCAN_DECODE_MAX_PIXELS,
        )
    except UploadRejected as exc:
        if view == PhotoView.FRONT:
            raise  # the message of a one-photo upload, as it always was
        message = gettext("%(photo)s photo: %(problem)s") % {"photo": PhotoView(view).label, "problem": exc.message}
        raise UploadRejected(exc.code, message, exc.status, field=photo_field(view)) from exc


def create_scan(
    *,
    owner: User,
    uploaded_file: UploadedFile,
    note: str = "",
    idempotency_key: str = "",
    extra_photos: Mapping[str, UploadedFile | None] | None = None,
) -> tuple[Scan, bool]:
    """Validate and store an upload, then queue its analysis. Returns (scan, created).

    ``uploaded_file`` is the front photo; ``extra_photos`` the scan's other photos by view (``left``,
    ``right``). Every photo is checked before anything is stored: one bad photo refuses the whole upload
    (UploadRejected, with ``field`` naming it)."""
    extras = {view: f for view, f in (extra_photos or {}).items() if f is not None}
    unknown = set(extras) - set(EXTRA_VIEWS)
    if unknown:
        raise ValueError(f"unknown photo views {sorted(unknown)}; a scan's other photos are {EXTRA_VIEWS}")
    idempotency_key = (idempotency_key or "").strip()[:IDEMPOTENCY_KEY_MAX_LENGTH]
    if idempotency_key:
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    left = rate_limits.refused_uploads_left(owner)
    if not left.allowed:  # before any decoding: damaged files must not keep the web's CPU from others
        raise UploadRejected("too_many_refused_uploads", rate_limits.refused_uploads_message(left), 429)
    try:
        clean = _clean_photo(uploaded_file, PhotoView.FRONT)
        extra_clean = {view: _clean_photo(extras[view], view) for view in EXTRA_VIEWS if view in extras}
    except UploadRejected as exc:
        rate_limits.count_refused_upload(owner, exc.code)
        raise
    scan = Scan(
        owner=owner,
        note=(note or "")[:NOTE_MAX_LENGTH],
        idempotency_key=idempotency_key,
        image_width=clean.width,
        image_height=clean.height,
    )
    photos: list[ScanPhoto] = []
    try:
        scan.image.save("upload.jpg", ContentFile(clean.jpeg), save=False)
        scan.thumbnail.save("thumb.jpg", ContentFile(clean.thumbnail_jpeg), save=False)
        for view, extra in extra_clean.items():
            photo = ScanPhoto(scan=scan, view=view, image_width=extra.width, image_height=extra.height)
            photos.append(photo)
            photo.image.save("upload.jpg", ContentFile(extra.jpeg), save=False)
            photo.thumbnail.save("thumb.jpg", ContentFile(extra.thumbnail_jpeg), save=False)
        with transaction.atomic():
            scan.save(force_insert=True)
            ScanPhoto.objects.bulk_create(photos)
            # robust: once committed, the scan and its files stay whatever a callback does; the sweeper
            # queues a scan whose message was not published
            transaction.on_commit(lambda: enqueue_analysis(scan.id), robust=True)
    except IntegrityError:
        storage.delete_scan_files(scan, photos)
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if idempotency_key and existing:
            return existing, False  # a concurrent request with the same key won
        raise
    except Exception:
        storage.delete_scan_files(scan, photos)
        raise
    count = 1 + len(photos)
    logger.info("scan %s uploaded (%d photo%s)", scan.id, count, "" if count == 1 else "s")
    metrics.scan_accepted()
    backpressure.note_accepted()
    return scan, True


def update_scan_note(scan: Scan, note: str) -> Scan:
    scan.note = (note or "")[:NOTE_MAX_LENGTH]
    scan.save(update_fields=["note", "updated_at"])
    return scan


def delete_scan(scan: Scan) -> None:
    """Delete the scan and its photos; their files go once the deletion is committed (a rollback keeps them)."""
    names = storage.scan_file_names(scan)

    def delete_files() -> None:
        for name in names:
            storage.delete_quietly(name)

    with transaction.atomic():
        scan.delete()
        transaction.on_commit(delete_files)


def delete_all_scans(owner: User) -> None:
    for scan in Scan.objects.filter(owner=owner):
        delete_scan(scan)
