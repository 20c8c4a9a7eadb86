"""Writes for scans: upload, analysis, retry, notes, deletion, export, sweeping."""

import io
import json
import logging
import uuid
import zipfile
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from . import selectors, storage
from .imaging import UploadRejected, clean_upload, read_upload
from .models import CONDITIONS, Scan

logger = logging.getLogger(__name__)


class TransientAnalysisError(Exception):
    """A failure worth retrying (database or storage hiccup)."""


class ScanNotRetryable(Exception):
    pass


# --- upload -----------------------------------------------------------------------------------

def create_scan(*, owner, uploaded_file, note="", idempotency_key=""):
    """Validate and store an upload, then queue its analysis. Returns (scan, created)."""
    idempotency_key = (idempotency_key or "").strip()[:100]
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
        note=(note or "")[:2000],
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
        _delete_files(scan)
        existing = Scan.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if idempotency_key and existing:
            return existing, False  # a concurrent request with the same key won
        raise
    except Exception:
        _delete_files(scan)
        raise
    logger.info("scan %s uploaded", scan.id)
    return scan, True


def enqueue_analysis(scan_id):
    """Queue analysis; if the broker is down the scan stays queued and the sweeper re-queues it."""
    from .tasks import analyse_scan

    try:
        analyse_scan.apply_async(
            (str(scan_id),),
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5},
        )
    except Exception as exc:  # any broker failure: the upload itself must still succeed
        logger.warning("could not queue scan %s (%s); the sweeper will re-queue it", scan_id, type(exc).__name__)
        return False
    return True


# --- analysis ---------------------------------------------------------------------------------

def _claim(scan_id, task_id):
    """Take the scan for this execution. Returns a claim token, or None when there is nothing to do."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.SCAN_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        scan = Scan.objects.select_for_update().filter(id=scan_id).first()
        if scan is None or scan.status in (Scan.Status.DONE, Scan.Status.FAILED):
            return None
        if (
            scan.status == Scan.Status.ANALYSING
            and scan.claimed_at
            and scan.claimed_at >= stale_before
            and scan.claimed_by != (task_id or "")
        ):
            return None  # another live execution has it
        if scan.attempts >= settings.SCAN_MAX_ATTEMPTS:
            _fail(scan, gettext_noop(
                "Analysis stopped: it crashed the analysis worker repeatedly. Retry, or try another photo."))
            return None
        token = uuid.uuid4()
        scan.status = Scan.Status.ANALYSING
        scan.attempts += 1
        scan.claim_token = token
        scan.claimed_at = now
        scan.claimed_by = task_id or ""
        scan.started_at = scan.started_at or now
        scan.save(update_fields=["status", "attempts", "claim_token", "claimed_at", "claimed_by",
                                 "started_at", "updated_at"])
        return token


def _release(scan_id, token):
    """Give the claim back without counting it as a crash: the scan is queued again."""
    # One update, only while this execution still holds the claim (its claim counted one attempt).
    Scan.objects.filter(id=scan_id, claim_token=token, attempts__gt=0).update(
        status=Scan.Status.QUEUED, claim_token=None, claimed_by="", attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )


def _fail(scan, reason):
    scan.status = Scan.Status.FAILED
    scan.error = reason
    scan.claim_token = None
    scan.completed_at = timezone.now()
    scan.save(update_fields=["status", "error", "claim_token", "completed_at", "updated_at"])
    logger.warning("scan %s failed: %s", scan.id, reason)


def fail_scan(scan_id, reason):
    scan = Scan.objects.filter(id=scan_id).exclude(status=Scan.Status.DONE).first()
    if scan:
        _fail(scan, reason)


def analyse_scan(scan_id, *, task_id=None):
    """Run the classifier on one scan and store the result. Safe to call twice or concurrently."""
    outcome = analyse_scans([(scan_id, task_id)])[0]
    if isinstance(outcome, TransientAnalysisError):
        raise outcome
    return outcome


def analyse_scans(jobs):
    """Analyse several scans with one batched forward pass. ``jobs`` is a list of (scan_id, task_id).

    Every scan is claimed, released, failed and stored on its own, exactly as if it ran alone: one list
    entry per job, either an outcome string or a TransientAnalysisError for the caller to retry.
    """
    from ml.runtime import ModelUnavailable, get_predictor

    outcomes = [None] * len(jobs)
    claimed = {}  # job index -> claim token
    seen = set()
    for i, (scan_id, task_id) in enumerate(jobs):
        if str(scan_id) in seen:  # the same scan twice in one batch: one analysis serves both
            outcomes[i] = "skipped"
            continue
        seen.add(str(scan_id))
        try:
            token = _claim(scan_id, task_id)
        except OperationalError as exc:
            outcomes[i] = TransientAnalysisError(str(exc))
            continue
        if token is None:
            outcomes[i] = "skipped"
        else:
            claimed[i] = token
    if not claimed:
        return outcomes
    try:
        predictor = get_predictor()
    except ModelUnavailable as exc:
        for i, token in claimed.items():
            _release(jobs[i][0], token)
            outcomes[i] = "model_unavailable"
        logger.warning("%d scan(s) left queued: %s", len(claimed), exc)
        return outcomes

    loaded = []  # (job index, scan, photo bytes)
    for i, token in claimed.items():
        try:
            scan = Scan.objects.get(id=jobs[i][0])
        except OperationalError as exc:  # the claim stays with this task id: its retry takes it over
            outcomes[i] = TransientAnalysisError(str(exc))
            continue
        try:
            loaded.append((i, scan, storage.read_bytes(scan.image.name)))
        except FileNotFoundError:
            _fail(scan, gettext_noop("The uploaded photo is no longer stored, so it cannot be analysed."))
            outcomes[i] = "failed"
        except storage.STORAGE_ERRORS as exc:
            _release(scan.id, token)
            outcomes[i] = TransientAnalysisError(f"storage: {type(exc).__name__}: {exc}")
    if not loaded:
        return outcomes

    try:
        predictions = _predict(predictor, [data for _i, _scan, data in loaded])
    except MemoryError:
        for i, scan, _data in loaded:
            _release(scan.id, claimed[i])
            outcomes[i] = TransientAnalysisError("out of memory")
        return outcomes
    logger.info("analysed %d scan(s) in one batch", len(loaded))
    for (i, scan, _data), prediction in zip(loaded, predictions, strict=True):
        if isinstance(prediction, Exception):  # a permanent problem with this photo: tell the person why
            logger.warning("scan %s: inference failed (%s)", scan.id, type(prediction).__name__)
            _fail(scan, gettext_noop("The photo could not be analysed (%(problem)s). Try another photo.")
                  % {"problem": type(prediction).__name__})
            outcomes[i] = "failed"
            continue
        try:
            outcomes[i] = _store_result(scan, claimed[i], prediction)
        except TransientAnalysisError as exc:
            outcomes[i] = exc
    return outcomes


def _predict(predictor, photos):
    """One batched forward pass; if the batch as a whole raises, each photo alone, so one bad photo fails alone.

    Returns a Prediction or an exception per photo. MemoryError propagates (it is worth a retry).
    """
    if len(photos) > 1:
        try:
            return predictor.predict_many(photos, batch_size=len(photos), with_heatmap=True)
        except MemoryError:
            raise
        except Exception:
            logger.exception("batched inference of %d photos failed; analysing them one by one", len(photos))
    results = []
    for data in photos:
        try:
            results.append(predictor.predict(data, with_heatmap=True))
        except MemoryError:
            raise
        except Exception as exc:
            logger.exception("inference failed")
            results.append(exc)
    return results


def _store_result(scan, token, prediction):
    from ml.models import ModelVersion

    model_version = ModelVersion.objects.filter(name=prediction.model_version).first()
    heatmap_name = ""
    if prediction.heatmap_jpeg and prediction.label in CONDITIONS:  # no map for "no skin" or "uncertain"
        try:
            heatmap_name = default_storage.save(
                f"heatmaps/{uuid.uuid4().hex}.jpg", ContentFile(prediction.heatmap_jpeg)
            )
        except storage.STORAGE_ERRORS as exc:
            _release(scan.id, token)
            raise TransientAnalysisError(f"storage: {type(exc).__name__}: {exc}") from exc
    probabilities = {c: float(prediction.probabilities.get(c, 0.0)) for c in CONDITIONS}
    try:
        with transaction.atomic():
            written = Scan.objects.filter(id=scan.id, claim_token=token, status=Scan.Status.ANALYSING).update(
                status=Scan.Status.DONE,
                label=prediction.label,
                reason=prediction.reason,
                probabilities=probabilities,
                top_probability=max(probabilities.values()),
                quality={k: bool(v) for k, v in prediction.quality.items()},
                model_version=model_version,
                heatmap=heatmap_name,
                heatmap_box=list(prediction.details.get("crop_box") or []) if heatmap_name else [],
                error="",
                claim_token=None,
                completed_at=timezone.now(),
                updated_at=timezone.now(),
            )
    except OperationalError as exc:
        written = 0
        _delete_name(heatmap_name)
        raise TransientAnalysisError(str(exc)) from exc
    if not written:  # another execution took over; its result stands
        _delete_name(heatmap_name)
        return "superseded"
    logger.info("scan %s done: %s", scan.id, prediction.label)
    return "done"


def retry_scan(scan):
    if scan.status != Scan.Status.FAILED:
        raise ScanNotRetryable(gettext("Only a failed scan can be retried."))
    if not scan.image:
        raise ScanNotRetryable(gettext("This scan's photo was deleted, so it cannot be analysed again."))
    with transaction.atomic():
        Scan.objects.filter(id=scan.id, status=Scan.Status.FAILED).update(
            status=Scan.Status.QUEUED, error="", attempts=0, claim_token=None, claimed_by="",
            completed_at=None, updated_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue_analysis(scan.id))
    scan.refresh_from_db()
    return scan


def requeue_stuck_scans():
    """Re-queue scans stuck in queued/analysing (lost message, broker outage, killed worker)."""
    cutoff = timezone.now() - timedelta(seconds=settings.SCAN_STUCK_AFTER_SECONDS)
    ids = list(selectors.stuck_scans(cutoff))
    queued = 0
    for scan_id in ids:
        Scan.objects.filter(id=scan_id, status=Scan.Status.ANALYSING, claimed_at__lt=cutoff).update(
            status=Scan.Status.QUEUED, claim_token=None, claimed_by=""
        )
        Scan.objects.filter(id=scan_id, status=Scan.Status.QUEUED).update(updated_at=timezone.now())
        queued += bool(enqueue_analysis(scan_id))
    if ids:
        logger.info("sweeper: %d stuck scans, %d re-queued", len(ids), queued)
    return len(ids), queued


def requeue_waiting_scans():
    """Queue every scan still waiting now (e.g. when a usable model was just activated): a worker that
    had no model released them, and they would otherwise wait for the sweeper. Duplicate messages are
    harmless: the claim protocol lets one execution analyse a scan."""
    ids = list(Scan.objects.filter(status=Scan.Status.QUEUED).values_list("id", flat=True))
    queued = sum(bool(enqueue_analysis(scan_id)) for scan_id in ids)
    if ids:
        logger.info("model activated: %d waiting scans re-queued", queued)
    return queued


# --- notes, deletion, export ------------------------------------------------------------------

def update_scan_note(scan, note):
    scan.note = (note or "")[:2000]
    scan.save(update_fields=["note", "updated_at"])
    return scan


def _delete_name(name):
    if name:
        try:
            default_storage.delete(name)
        except storage.STORAGE_ERRORS:
            logger.warning("could not delete a media file")


def _delete_files(scan):
    for field in (scan.image, scan.thumbnail, scan.heatmap):
        _delete_name(field.name if field else "")


def delete_scan(scan):
    names = [f.name for f in (scan.image, scan.thumbnail, scan.heatmap) if f]
    with transaction.atomic():
        scan.delete()
        transaction.on_commit(lambda: [_delete_name(n) for n in names])


def delete_all_scans(owner):
    for scan in Scan.objects.filter(owner=owner):
        delete_scan(scan)


def purge_expired_images(days=None):
    """Retention: delete photos older than N days, keep the results."""
    days = settings.SCAN_IMAGE_RETENTION_DAYS if days is None else days
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    count = 0
    for scan in Scan.objects.filter(created_at__lt=cutoff, image_deleted_at__isnull=True).exclude(
        status__in=[Scan.Status.QUEUED, Scan.Status.ANALYSING]
    ):
        _delete_files(scan)
        scan.image = scan.thumbnail = scan.heatmap = ""
        scan.heatmap_box = []
        scan.image_deleted_at = timezone.now()
        scan.save(update_fields=["image", "thumbnail", "heatmap", "heatmap_box", "image_deleted_at", "updated_at"])
        count += 1
    return count


def scan_as_dict(scan):
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
        "review": _review_dict(scan),
    }


def _review_dict(scan):
    from django.core.exceptions import ObjectDoesNotExist

    try:
        review = scan.review
    except (ObjectDoesNotExist, AttributeError):
        return None
    return {"label": review.label, "reviewed_at": review.created_at.isoformat()}


def build_data_export(user):
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


__all__ = [
    "UploadRejected", "TransientAnalysisError", "ScanNotRetryable", "create_scan", "enqueue_analysis",
    "analyse_scan", "analyse_scans", "retry_scan", "requeue_stuck_scans", "update_scan_note", "delete_scan",
    "delete_all_scans", "purge_expired_images", "build_data_export", "fail_scan",
]
