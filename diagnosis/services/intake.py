"""The one intake of a new scan, whichever door it comes through: the web upload page (``diagnosis.views.upload``,
and its offline script) and the API (``POST /api/v1/scans/``). The doors parse their request and shape the
answer (a page, JSON, the API's error envelope); every rule about whether an upload gets in is here.

1. **Size**, before anything reads the body (``check_body_size``): the declared Content-Length must fit a
   scan's photos. The web checks it in ``diagnosis.middleware`` (before CSRF reads the body) for the views
   marked ``@takes_scan_uploads``; the API view before DRF parses.
2. **Admission**, before the photos are read (``admit``): refused while the waiting work is above the
   backlog limit (503 ``busy``, Retry-After, nothing counted), then the first photo counts against the hourly
   quota (429 ``quota``, Retry-After).
3. **Acceptance** (``check_parts``, then ``accept``): the files fit a scan (at most three, one per photo
   field), the Idempotency-Key and the note keep their limits, each further photo counts against the quota,
   every photo is checked (``imaging``: format by content, size, pixels, side) before any is stored, and
   ``create_scan`` stores the scan and queues its analysis once the transaction commits.
4. **Refund**, one path (``Admission.refuse``): the quota counts accepted photos only, so a refused upload
   gives back every photo it counted; a replay (a known Idempotency-Key) counts none either.

Every refusal is an ``UploadRejected`` (code, words, status, field, retry_after) counted once in
``metrics.upload_refused``. The limits: ``diagnosis.models`` (photos per scan, note, key) and settings
(``SCAN_MAX_UPLOAD_BYTES``, ``SCAN_MAX_PIXELS``, ``SCAN_MIN_SIDE``, ``SCAN_UPLOAD_RATE``,
``SCAN_BACKLOG_LIMIT_SECONDS``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import formats
from django.utils.translation import gettext

from facediag_site import metrics
from facediag_site.lib import uploads

from .. import backpressure, rate_limits, storage
from ..imaging import CleanImage, UploadRejected, clean_upload, read_upload
from ..models import (
    EXTRA_VIEWS,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_PHOTOS_PER_SCAN,
    NOTE_MAX_LENGTH,
    PHOTO_VIEWS,
    PhotoView,
    Scan,
    ScanPhoto,
    photo_field,
)
from .queue import enqueue_analysis

if TYPE_CHECKING:
    from accounts.models import User
    from accounts.ratelimit import Decision

logger = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., Any])


# --- 1. size ---------------------------------------------------------------------------------------------------


def takes_scan_uploads(view: View) -> View:
    """Mark a web view that receives scan uploads: ``diagnosis.middleware.UploadSizeLimitMiddleware`` checks
    its POSTs' size before CSRF reads the body (the mark survives other decorators: they copy ``__dict__``)."""
    view.takes_scan_uploads = True  # type: ignore[attr-defined]
    return view


def check_body_size(request: HttpRequest) -> None:
    """Refuse (413 ``file_too_large``) a body whose declared length cannot hold a scan's photos within the
    limit, before it is read. Each photo's own size is checked as it is read (``accept``)."""
    if uploads.body_too_large(request):
        metrics.upload_refused("file_too_large")
        raise UploadRejected("file_too_large", uploads.too_large_message(), 413)


# --- 2. admission ----------------------------------------------------------------------------------------------


@dataclass
class Admission:
    """An upload let in by ``admit``: whose it is and the quota it has counted so far. An accepted new scan
    keeps its count; anything else gives it back through ``refuse`` (the one refund path)."""

    owner: User
    counted: list[Decision] = field(default_factory=list)
    refused: bool = False

    def refuse(self, code: str) -> None:
        """The upload is refused, here or by its door's own parsing (``code``: ``invalid``,
        ``unsupported_media_type``...): give back every photo it counted and count the refusal, once."""
        if self.refused:
            return
        self.refused = True
        self._give_back()
        metrics.upload_refused(code)

    def _give_back(self) -> None:
        for decision in self.counted:
            rate_limits.refund_upload(decision)
        self.counted.clear()


def busy_message() -> str:
    return gettext("Many photos are waiting to be analysed; nothing was stored. Try again in a minute.")


def admit(owner: User) -> Admission:
    """Before the photos are read: refuse while busy (503 ``busy``: nothing counted, so a busy refusal uses up
    no quota), then count the first photo against the owner's hourly quota (429 ``quota``)."""
    busy = backpressure.check_upload()
    if busy:
        metrics.upload_refused("busy")
        raise UploadRejected("busy", busy_message(), 503, field=None, retry_after=busy.retry_after)
    decision = rate_limits.check_upload(owner)  # one policy and counter for the web and the API
    if not decision.allowed:
        metrics.upload_refused("quota")
        raise UploadRejected("quota", rate_limits.refused_message(decision), 429, field=None,
                             retry_after=decision.retry_after)
    return Admission(owner=owner, counted=[decision])


# --- 3. acceptance ---------------------------------------------------------------------------------------------


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


def check_parts(admission: Admission, files: Mapping[str, Any]) -> None:
    """The request's files fit a scan, checked before the door parses them (``check_photo_parts``)."""
    try:
        check_photo_parts(files)
    except UploadRejected as exc:
        admission.refuse(exc.code)
        raise


def idempotency_key_of(key: str | None) -> str:
    """The one rule of an Idempotency-Key (header or form field): spaces around it do not count; longer than
    IDEMPOTENCY_KEY_MAX_LENGTH is refused (400 ``invalid``), never cut: a cut key could match another upload."""
    key = (key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise UploadRejected("invalid", gettext("The Idempotency-Key header is longer than 100 characters."),
                             field="Idempotency-Key")
    return key


def check_note(note: str | None) -> str:
    """The owner's note, at most NOTE_MAX_LENGTH characters (longer is refused, 400 ``invalid``)."""
    note = note or ""
    if len(note) > NOTE_MAX_LENGTH:
        raise UploadRejected("invalid", gettext("The note is too long (%(count)s characters at most).")
                             % {"count": formats.number_format(NOTE_MAX_LENGTH, force_grouping=True)}, field="note")
    return note


def accept(
    admission: Admission,
    *,
    front: UploadedFile | None,
    extra_photos: Mapping[str, UploadedFile | None] | None = None,
    note: str = "",
    idempotency_key: str = "",
) -> tuple[Scan, bool]:
    """After the door parsed its request: count each further photo against the quota (429 ``quota``), then
    check and store the scan (``create_scan``). Returns (scan, created); a replay (``created`` False) gives its
    count back. Any refusal or error gives back all the upload counted (``admission.refuse``) and is raised."""
    try:
        extras = {view: f for view, f in (extra_photos or {}).items() if f is not None}
        key = idempotency_key_of(idempotency_key)
        note = check_note(note)
        if extras:  # admission counted the first photo; each further one counts too
            further = rate_limits.check_upload(admission.owner, photos=len(extras))
            if not further.allowed:
                raise UploadRejected("quota", rate_limits.refused_message(further), 429, field=None,
                                     retry_after=further.retry_after)
            admission.counted.append(further)
        scan, created = create_scan(owner=admission.owner, uploaded_file=front, note=note, idempotency_key=key,
                                    extra_photos=extras)
    except UploadRejected as exc:
        admission.refuse(exc.code)
        raise
    except Exception:
        admission.refuse("other")
        raise
    if not created:
        admission._give_back()  # a replay (a double tap, the offline queue sending again): not a new photo
    return scan, created


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
    uploaded_file: UploadedFile | None,
    note: str = "",
    idempotency_key: str = "",
    extra_photos: Mapping[str, UploadedFile | None] | None = None,
) -> tuple[Scan, bool]:
    """Validate and store an upload, then queue its analysis. Returns (scan, created). No quota here: the
    doors go through ``admit`` and ``accept``; tests, commands and the bench call this directly.

    ``uploaded_file`` is the front photo; ``extra_photos`` the scan's other photos by view (``left``,
    ``right``). Every photo is checked before anything is stored: one bad photo refuses the whole upload
    (UploadRejected, with ``field`` naming it)."""
    extras = {view: f for view, f in (extra_photos or {}).items() if f is not None}
    unknown = set(extras) - set(EXTRA_VIEWS)
    if unknown:
        raise ValueError(f"unknown photo views {sorted(unknown)}; a scan's other photos are {EXTRA_VIEWS}")
    idempotency_key = idempotency_key_of(idempotency_key)
    note = check_note(note)
    if idempotency_key:
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    left = rate_limits.refused_uploads_left(owner)
    if not left.allowed:  # before any decoding: damaged files must not keep the web's CPU from others
        raise UploadRejected("too_many_refused_uploads", rate_limits.refused_uploads_message(left), 429)
    files = {PhotoView.FRONT.value: uploaded_file, **extras}
    try:
        cleaned = {view: _clean_photo(files[view], view) for view in PHOTO_VIEWS if view in files}
    except UploadRejected as exc:
        rate_limits.count_refused_upload(owner, exc.code)
        raise
    scan = Scan(owner=owner, note=note, idempotency_key=idempotency_key)
    photos: list[ScanPhoto] = []
    try:
        for view, clean in cleaned.items():
            photo = ScanPhoto(scan=scan, view=view, position=PHOTO_VIEWS.index(view), image_width=clean.width,
                              image_height=clean.height)
            photos.append(photo)
            photo.image.save("upload.jpg", ContentFile(clean.jpeg), save=False)
            photo.thumbnail.save("thumb.jpg", ContentFile(clean.thumbnail_jpeg), save=False)
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
    count = len(photos)
    logger.info("scan %s uploaded (%d photo%s)", scan.id, count, "" if count == 1 else "s")
    metrics.scan_accepted()
    backpressure.note_accepted()
    return scan, True
