import logging

from celery import shared_task
from celery.signals import worker_process_init

from . import services

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_TRANSIENT_RETRIES)
def analyse_scan(self, scan_id):
    try:
        return services.analyse_scan(scan_id, task_id=self.request.id)
    except services.TransientAnalysisError as exc:
        if self.request.retries >= self.max_retries:
            services.fail_scan(scan_id, "Analysis failed because of a temporary problem on our side. Please retry.")
            return "failed"
        logger.warning("scan %s: transient error, retrying (%s)", scan_id, exc)
        raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc


@shared_task
def requeue_stuck_scans():
    return services.requeue_stuck_scans()


@shared_task
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
