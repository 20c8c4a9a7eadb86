import logging
import uuid

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.db import OperationalError
from django.utils.translation import gettext_noop

from . import services
from .batching import CrashIsolatingBatches
from .services.queue import ANALYSIS_TASK

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 3
# Stored in English on the scan (no request here); shown in the reader's language (Scan.error_text).
TRANSIENT_FAILURE = gettext_noop("Analysis failed because of a temporary problem on our side. Please retry.")


# Registered as diagnosis.tasks.analyse_scan, its own dotted path: the name messages already queued carry
# (ANALYSIS_TASK, by which services publish it). services.analyse_scan is the in-process analysis of one scan.
@shared_task(
    name=ANALYSIS_TASK,
    base=CrashIsolatingBatches,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    flush_every=settings.SCAN_BATCH_SIZE,
    flush_interval=settings.SCAN_BATCH_WAIT_SECONDS,
)
def analyse_scan(self, requests):
    """Each message is one scan (``args == [scan_id]``); the worker hands over the queued ones as a batch."""
    jobs, runnable = [], []
    for request in requests:
        scan_id = _scan_id(request)
        if scan_id is None:
            logger.error("analyse_scan message %s without a scan id; dropped", request.id)
            continue
        jobs.append((scan_id, request.id))
        runnable.append(request)
    try:
        outcomes = services.analyse_scans(jobs) if jobs else []
    except OperationalError as exc:  # the database went away mid-batch: every scan of it is retried
        outcomes = [services.TransientAnalysisError(str(exc)) for _job in jobs]
    results = []
    for request, (scan_id, _task_id), outcome in zip(runnable, jobs, outcomes, strict=True):
        if isinstance(outcome, services.TransientAnalysisError):
            outcome = _retry_later(self, request, scan_id, outcome)
        results.append(outcome)
    return results


def _scan_id(request):
    """The message's scan id, or None for a malformed message (it must not stop the rest of its batch)."""
    args, kwargs = request.args or (), request.kwargs or {}
    scan_id = args[0] if args else kwargs.get("scan_id")
    try:
        return str(uuid.UUID(str(scan_id)))
    except ValueError:
        return None


def _retry_later(task, request, scan_id, exc):
    """A transient error: publish the message again after a back-off, or fail after MAX_TRANSIENT_RETRIES."""
    retries = int((request.request_dict or {}).get("retries") or 0)
    if (request.delivery_info or {}).get("is_eager"):
        return _retry_now(scan_id, request.id, exc)
    if retries >= MAX_TRANSIENT_RETRIES:
        services.fail_scan(scan_id, TRANSIENT_FAILURE)
        return "failed"
    logger.warning("scan %s: transient error, retry %d (%s)", scan_id, retries + 1, exc)
    # Same task id: the scan's claim (if any) still belongs to this message. Acked once the batch returns.
    try:
        task.apply_async((scan_id,), task_id=request.id, retries=retries + 1,
                         countdown=settings.SCAN_RETRY_BACKOFF_SECONDS * 2**retries)
    except Exception as exc:  # broker down too: the scan is still queued/claimed, the sweeper re-queues it
        logger.warning("scan %s: could not queue its retry (%s); left to the sweeper", scan_id, type(exc).__name__)
        return "left_to_sweeper"
    return "retrying"


def _retry_now(scan_id, task_id, exc):
    """Eager mode (tests, CELERY_TASK_ALWAYS_EAGER): retry in-process like Celery's eager retry."""
    for attempt in range(MAX_TRANSIENT_RETRIES):
        logger.warning("scan %s: transient error, retry %d (%s)", scan_id, attempt + 1, exc)
        outcome = services.analyse_scans([(scan_id, task_id)])[0]
        if not isinstance(outcome, services.TransientAnalysisError):
            return outcome
        exc = outcome
    services.fail_scan(scan_id, TRANSIENT_FAILURE)
    return "failed"


@shared_task(name="diagnosis.tasks.requeue_stuck_scans")
def requeue_stuck_scans():
    return services.requeue_stuck_scans()


@shared_task(name="diagnosis.tasks.purge_expired_images")
def purge_expired_images():
    return services.purge_expired_images()


@worker_process_init.connect
def load_model_at_start(**kwargs):
    """Load the active model once per worker process; a bad model is one clear log line."""
    from ml.runtime import ModelUnavailable, get_predictor

    try:
        get_predictor()
    except ModelUnavailable as exc:
        logger.error("no usable model at worker start; scans stay queued until one is active: %s", exc)
    except Exception:
        logger.exception("model failed to load at worker start; scans stay queued")
