"""The product's own Prometheus metrics, and the small hooks the pipeline calls to move them.

Every process that runs FaceDiag code (gunicorn workers, Celery pool processes) writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` when it is set (prometheus-client's multiprocess mode), so one scrape of any
process of a container sees the whole container; without it (tests, ``manage.py``) they live in the
process. The endpoints that export them are in ``facediag_site.metrics_export``.

The hooks never raise: a metric must not fail an upload or an analysis.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

#: Seconds: from a sub-second result to the ten minutes after which the sweeper has long re-queued a scan.
WAIT_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
#: Seconds one image's preprocessing (decode, face detection, crop, quality) or one forward pass takes.
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2, 5, 10)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 64)

SCANS_ACCEPTED = Counter("facediag_scans_accepted", "Uploads stored as a new scan and queued for analysis.")
UPLOADS_REFUSED = Counter(
    "facediag_uploads_refused",
    "Uploads refused before anything was stored: busy (backpressure), quota, or the photo's rejection code.",
    ["reason"],
)
SCANS_DONE = Counter(
    "facediag_scans_done",
    "Scans analysed, by result label (a condition, uncertain or no_skin) and the decision's reason.",
    ["label", "reason"],
)
SCANS_FAILED = Counter("facediag_scans_failed", "Scans that ended failed, by reason.", ["reason"])
UPLOAD_TO_DONE = Histogram(
    "facediag_scan_upload_to_done_seconds", "From the upload (created_at) to the stored result.",
    buckets=WAIT_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "facediag_scan_queue_wait_seconds", "From the upload to the first claim by a worker (time in the queue).",
    buckets=WAIT_BUCKETS,
)
PREPROCESS_SECONDS = Histogram(
    "facediag_preprocess_seconds", "Preprocessing of one photo (decode, face detection, crop, quality).",
    ["runtime", "precision"], buckets=STAGE_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "facediag_inference_seconds", "One forward pass of the network over a batch of crops.",
    ["runtime", "precision"], buckets=STAGE_BUCKETS,
)
INFERENCE_IMAGES = Counter(
    "facediag_inference_images", "Crops that went through the network.", ["runtime", "precision"]
)
BATCH_SIZE = Histogram(
    "facediag_analysis_batch_size", "Scans analysed in one batched forward pass.", buckets=BATCH_SIZE_BUCKETS
)
REVIEWS_DONE = Counter(
    "facediag_reviews_done", "Reviews saved by clinicians, by whether the reviewer agreed with the model and the "
    "model version that analysed the scan.",
    ["agreed", "version"],
)

#: Failure messages (stored on the scan, in English) -> a short reason label. The first match wins.
FAILURE_REASONS = (
    ("crashed the analysis worker", "crashed_worker"),
    ("no longer stored", "photo_missing"),
    ("could not be analysed", "inference_error"),
    ("temporary problem", "transient_errors"),
)


def _quietly(hook: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(hook)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:  # a metric must never break the work it counts
            logger.exception("metrics hook %s failed", hook.__name__)

    return wrapper


@_quietly
def scan_accepted() -> None:
    SCANS_ACCEPTED.inc()


@_quietly
def upload_refused(reason: str) -> None:
    UPLOADS_REFUSED.labels(reason=reason or "other").inc()


@_quietly
def scan_done(*, label: str, reason: str, created_at: datetime, started_at: datetime | None,
              completed_at: datetime) -> None:
    SCANS_DONE.labels(label=label, reason=reason or "").inc()
    UPLOAD_TO_DONE.observe(max(0.0, (completed_at - created_at).total_seconds()))
    if started_at is not None:
        QUEUE_WAIT.observe(max(0.0, (started_at - created_at).total_seconds()))


def failure_reason(message: str) -> str:
    text = (message or "").lower()
    return next((reason for needle, reason in FAILURE_REASONS if needle in text), "other")


@_quietly
def scan_failed(message: str) -> None:
    SCANS_FAILED.labels(reason=failure_reason(message)).inc()


@_quietly
def analysis_batch(size: int) -> None:
    BATCH_SIZE.observe(size)


@_quietly
def review_saved(*, created: bool, agreed: bool, version: str = "") -> None:
    if created:
        REVIEWS_DONE.labels(agreed=str(bool(agreed)).lower(), version=version or "unknown").inc()


def precision_label(precision: str) -> str:
    """A short label for a predictor's precision description (e.g. "int8 blocks 1-4, ..." -> "int8")."""
    return (str(precision or "unknown").split() or ["unknown"])[0].strip(",;").lower()


def observe_predictor(predictor: Any) -> Any:
    """Time a freshly loaded predictor's preprocessing (per photo) and forward passes (per batch).

    Wraps the two instance methods that ``Predictor.predict_many`` calls, so ml/core stays free of metrics.
    """
    if getattr(predictor, "_facediag_observed", False):
        return predictor
    labels = {"runtime": str(getattr(predictor, "runtime", "unknown")),
              "precision": precision_label(getattr(predictor, "precision", ""))}
    preprocess, network = predictor.preprocess, predictor.network
    preprocess_seconds = PREPROCESS_SECONDS.labels(**labels)
    inference_seconds = INFERENCE_SECONDS.labels(**labels)
    images = INFERENCE_IMAGES.labels(**labels)

    def timed_preprocess(image: Any) -> Any:
        started = time.perf_counter()
        result = preprocess(image)
        preprocess_seconds.observe(time.perf_counter() - started)
        return result

    def timed_network(crops: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = network(crops, *args, **kwargs)
        inference_seconds.observe(time.perf_counter() - started)
        images.inc(len(crops))
        return result

    predictor.preprocess, predictor.network = timed_preprocess, timed_network
    predictor._facediag_observed = True
    return predictor
