"""Analysis of queued scans, and the claim protocol that makes it safe to run twice or concurrently.

A message may be delivered twice (redelivery after a worker died, a duplicate from the sweeper), and
two executions may run at once. Each execution first *claims* the scan (a fresh token in the row, under a
row lock); only the holder of the current token may store a result, so exactly one result is written.
A claim that ends without a result is either *released* (not the scan's fault: no model, storage or
memory trouble; the attempt is not counted) or left to go stale (the worker died) for the sweeper and
the next claim to take over. A scan that kept crashing workers fails after SCAN_MAX_ATTEMPTS claims.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from facediag_site import metrics

from .. import readouts, storage
from ..models import CONDITIONS, Scan, ScanPhoto
from .queue import enqueue_analysis
from .shadow import after_batch

if TYPE_CHECKING:
    from ml.core.combine import CombinedResult
    from ml.core.inference import Prediction, Predictor

logger = logging.getLogger(__name__)

#: What happened to one job: "done", "skipped", "superseded", "failed", "model_unavailable", or a
#: TransientAnalysisError for the caller to retry.
Outcome = Any
Job = tuple[Any, str | None]  # (scan id, Celery task id)


class TransientAnalysisError(Exception):
    """A failure worth retrying (database or storage hiccup)."""


class ScanNotRetryable(Exception):
    pass


def claim_scan(scan_id: Any, task_id: str | None) -> uuid.UUID | None:
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


def release_claim(scan_id: Any, token: uuid.UUID) -> None:
    """Give the claim back without counting it as a crash: the scan is queued again."""
    # One update, only while this execution still holds the claim (its claim counted one attempt).
    Scan.objects.filter(id=scan_id, claim_token=token, attempts__gt=0).update(
        status=Scan.Status.QUEUED, claim_token=None, claimed_by="", attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )


def _fail(scan: Scan, reason: str) -> None:
    scan.status = Scan.Status.FAILED
    scan.error = reason
    scan.claim_token = None
    scan.completed_at = timezone.now()
    scan.save(update_fields=["status", "error", "claim_token", "completed_at", "updated_at"])
    logger.warning("scan %s failed: %s", scan.id, reason)
    metrics.scan_failed(reason)


def fail_scan(scan_id: Any, reason: str) -> None:
    """Fail a scan that is not done yet, with a reason shown to its owner."""
    scan = Scan.objects.filter(id=scan_id).exclude(status=Scan.Status.DONE).first()
    if scan:
        _fail(scan, reason)


def analyse_scan(scan_id: Any, *, task_id: str | None = None) -> str:
    """Run the classifier on one scan and store the result. Safe to call twice or concurrently."""
    outcome = analyse_scans([(scan_id, task_id)])[0]
    if isinstance(outcome, TransientAnalysisError):
        raise outcome
    return outcome


def analyse_scans(jobs: Sequence[Job]) -> list[Outcome]:
    """Analyse several scans with one batched forward pass. ``jobs`` is a list of (scan_id, task_id).

    Every scan is claimed, released, failed and stored on its own, exactly as if it ran alone: one list
    entry per job, either an outcome string or a TransientAnalysisError for the caller to retry.
    """
    from ml.runtime import ModelUnavailable, get_predictor

    outcomes: list[Outcome] = [None] * len(jobs)
    claimed: dict[int, uuid.UUID] = {}  # job index -> claim token
    seen: set[str] = set()
    for i, (scan_id, task_id) in enumerate(jobs):
        if str(scan_id) in seen:  # the same scan twice in one batch: one analysis serves both
            outcomes[i] = "skipped"
            continue
        seen.add(str(scan_id))
        try:
            token = claim_scan(scan_id, task_id)
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
            release_claim(jobs[i][0], token)
            outcomes[i] = "model_unavailable"
        logger.warning("%d scan(s) left queued: %s", len(claimed), exc)
        return outcomes

    loaded: list[tuple[int, Scan, list[bytes]]] = []  # (job index, scan, its photos' bytes in PHOTO_VIEWS order)
    for i, token in claimed.items():
        try:
            scan = Scan.objects.prefetch_related("photos").get(id=jobs[i][0])
            names = [p.image.name for p in scan.photos.all()]
        except OperationalError as exc:  # the claim stays with this task id: its retry takes it over
            outcomes[i] = TransientAnalysisError(str(exc))
            continue
        try:
            loaded.append((i, scan, [storage.read_bytes(name) for name in names]))
        except FileNotFoundError:
            _fail(scan, gettext_noop("The uploaded photo is no longer stored, so it cannot be analysed."))
            outcomes[i] = "failed"
        except storage.STORAGE_ERRORS as exc:
            release_claim(scan.id, token)
            outcomes[i] = TransientAnalysisError(f"storage: {type(exc).__name__}: {exc}")
    if not loaded:
        return outcomes

    try:  # every photo of every scan in one batch
        flat = _predict(predictor, [data for _i, _scan, photos in loaded for data in photos])
    except MemoryError:
        for i, scan, _photos in loaded:
            release_claim(scan.id, claimed[i])
            outcomes[i] = TransientAnalysisError("out of memory")
        return outcomes
    logger.info("analysed %d scan(s) in one batch (%d photos)", len(loaded), len(flat))  # one predict_many
    metrics.analysis_batch(len(loaded))
    start = 0
    firsts = []  # (job index, scan, first photo, its prediction): what the shadow model and measurement read
    for i, scan, photos in loaded:
        predictions, start = flat[start : start + len(photos)], start + len(photos)
        firsts.append((i, scan, photos[0], predictions[0]))
        failed = next((p for p in predictions if isinstance(p, Exception)), None)
        if failed is not None:  # a permanent problem with a photo: tell the person why
            logger.warning("scan %s: inference failed (%s)", scan.id, type(failed).__name__)
            _fail(scan, gettext_noop("The photo could not be analysed (%(problem)s). Try another photo.")
                  % {"problem": type(failed).__name__})
            outcomes[i] = "failed"
            continue
        try:
            outcomes[i] = store_result(scan, claimed[i], cast("list[Prediction]", predictions),
                                       thresholds=predictor.thresholds)
        except TransientAnalysisError as exc:
            outcomes[i] = exc
    # the shadow model and the records for measurement, on the first (front) photo of each scan, both models alike
    after_batch([(scan, data, p) for i, scan, data, p in firsts if outcomes[i] == "done"])
    return outcomes


def _predict(predictor: Predictor, photos: list[bytes]) -> Sequence[Prediction | Exception]:
    """One batched forward pass; if the batch as a whole raises, each photo alone, so one bad photo fails alone.

    A batch of multi-photo scans holds up to 3 x SCAN_BATCH_SIZE photos: the network still runs at most
    SCAN_BATCH_SIZE at a time, so memory and the compiled input shapes stay what one-photo batches use.
    Returns a Prediction or an exception per photo. MemoryError propagates (it is worth a retry).
    """
    if len(photos) > 1:
        try:
            return predictor.predict_many(photos, batch_size=min(len(photos), max(1, settings.SCAN_BATCH_SIZE)),
                                          with_heatmap=True)
        except MemoryError:
            raise
        except Exception:
            logger.exception("batched inference of %d photos failed; analysing them one by one", len(photos))
    results: list[Prediction | Exception] = []
    for data in photos:
        try:
            results.append(predictor.predict(data, with_heatmap=True))
        except MemoryError:
            raise
        except Exception as exc:
            logger.exception("inference failed")
            results.append(exc)
    return results


def store_result(
    scan: Scan,
    token: uuid.UUID,
    prediction: Prediction | Sequence[Prediction],
    *,
    thresholds: dict[str, Any] | None = None,
) -> str:
    """Write the result of the scan's photos (one Prediction per photo, in PHOTO_VIEWS order; a single one for
    a one-photo scan), combined by ``ml.core.combine`` with the model's ``thresholds``, if ``token`` still
    holds the claim: each photo's own result and readouts on its row, the combined result on the scan.
    Returns "done" or "superseded"."""
    from ml.core.combine import combine
    from ml.models import ModelVersion

    predictions = [prediction] if not isinstance(prediction, Sequence) else list(prediction)
    photos = list(scan.photos.all())
    if len(predictions) != len(photos):
        raise ValueError(f"scan {scan.id} has {len(photos)} photos, got {len(predictions)} predictions")
    combined = combine(predictions, thresholds)
    model_version = ModelVersion.objects.filter(name=predictions[0].model_version).first()
    heatmaps = _save_heatmaps(scan, token, predictions, combined)
    # Each photo's result and readouts (heatmap, lesions) as columns of its row: one mapping for every photo.
    rows = [{**_photo_result(p, counted), **readouts.row_fields(p, {"heatmap": name, "heatmap_box": box})}
            for p, counted, (name, box) in zip(predictions, combined.counted, heatmaps, strict=True)]
    probabilities = {c: float(combined.probabilities.get(c, 0.0)) for c in CONDITIONS}
    try:
        with transaction.atomic():
            written = Scan.objects.filter(id=scan.id, claim_token=token, status=Scan.Status.ANALYSING).update(
                status=Scan.Status.DONE,
                label=combined.label,
                reason=combined.reason,
                probabilities=probabilities,
                top_probability=max(probabilities.values()),
                quality=combined.quality,
                model_version=model_version,
                error="",
                claim_token=None,
                completed_at=timezone.now(),
                updated_at=timezone.now(),
            )
            if written:  # the scan row is locked by the update until commit: no other result can land
                for photo, fields in zip(photos, rows, strict=True):
                    ScanPhoto.objects.filter(id=photo.id).update(**fields)
    except OperationalError as exc:
        written = 0
        _delete_heatmaps(heatmaps)
        raise TransientAnalysisError(str(exc)) from exc
    if not written:  # another execution took over; its result stands
        _delete_heatmaps(heatmaps)
        return "superseded"
    logger.info("scan %s done: %s", scan.id, combined.label)
    metrics.scan_done(label=combined.label, reason=combined.reason, created_at=scan.created_at,
                      started_at=scan.started_at, completed_at=timezone.now())
    return "done"


def _photo_result(prediction: Prediction, counted: bool) -> dict[str, Any]:
    """One photo's own result, as its ScanPhoto row keeps it."""
    return {
        "label": prediction.label,
        "reason": prediction.reason,
        "probabilities": {c: float(prediction.probabilities.get(c, 0.0)) for c in CONDITIONS},
        "quality": {k: bool(v) for k, v in prediction.quality.items()},
        "counted": bool(counted),
    }


def _save_heatmaps(
    scan: Scan, token: uuid.UUID, predictions: Sequence[Prediction], combined: CombinedResult
) -> list[tuple[str, list[float]]]:
    """Store each photo's heatmap, as (storage name, crop box) per photo ("" and [] for none). A photo has
    one only when both it and the scan got a class: no map for "no skin" or "uncertain"."""
    saved: list[tuple[str, list[float]]] = []
    for prediction in predictions:
        if not (prediction.heatmap_jpeg and prediction.label in CONDITIONS and combined.label in CONDITIONS):
            saved.append(("", []))
            continue
        try:
            name = default_storage.save(f"heatmaps/{uuid.uuid4().hex}.jpg", ContentFile(prediction.heatmap_jpeg))
        except storage.STORAGE_ERRORS as exc:
            _delete_heatmaps(saved)
            release_claim(scan.id, token)
            raise TransientAnalysisError(f"storage: {type(exc).__name__}: {exc}") from exc
        saved.append((name, list(prediction.details.get("crop_box") or [])))
    return saved


def _delete_heatmaps(heatmaps: Sequence[tuple[str, list[float]]]) -> None:
    for name, _box in heatmaps:
        storage.delete_quietly(name)


def retry_inference_failures(since: datetime) -> int:
    """Queue again, through ``retry_scan``, every scan that failed at inference since ``since`` (a model that
    failed them was replaced or repaired); scans refused for their photo stay as they are."""
    from ..selectors import inference_failures_since

    queued = 0
    for scan in inference_failures_since(since):
        try:
            retry_scan(scan)
        except ScanNotRetryable:  # retried meanwhile, or its photo was deleted
            continue
        queued += 1
    if queued:
        logger.info("model activated: %d scans that failed at inference re-queued", queued)
    return queued


def retry_scan(scan: Scan) -> Scan:
    """Queue a failed scan again (its photo must still be stored); ScanNotRetryable otherwise."""
    if scan.status != Scan.Status.FAILED:
        raise ScanNotRetryable(gettext("Only a failed scan can be retried."))
    if scan.image_deleted_at is not None or not scan.photos.exists() or scan.photos.filter(image="").exists():
        raise ScanNotRetryable(gettext("This scan's photo was deleted, so it cannot be analysed again."))
    with transaction.atomic():
        Scan.objects.filter(id=scan.id, status=Scan.Status.FAILED).update(
            status=Scan.Status.QUEUED, error="", attempts=0, claim_token=None, claimed_by="",
            completed_at=None, updated_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue_analysis(scan.id))
    scan.refresh_from_db()
    return scan
