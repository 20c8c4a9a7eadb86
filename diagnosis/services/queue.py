"""Handing a scan to the analysis worker: the only place that publishes an analysis message."""

import logging
import uuid

from celery import current_app

logger = logging.getLogger(__name__)

#: The analysis task's registered name (diagnosis.tasks.handle_analysis_messages, registered at start-up by
#: DiagnosisConfig.ready). Looked up by name so that services never import tasks (tasks import services).
ANALYSIS_TASK = "diagnosis.tasks.analyse_scan"
RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5}


def enqueue_analysis(scan_id: uuid.UUID | str) -> bool:
    """Queue analysis; if the broker is down the scan stays queued and the sweeper re-queues it."""
    try:
        current_app.tasks[ANALYSIS_TASK].apply_async((str(scan_id),), retry=True, retry_policy=RETRY_POLICY)
    except Exception as exc:  # any broker failure: the upload itself must still succeed
        logger.warning("could not queue scan %s (%s); the sweeper will re-queue it", scan_id, type(exc).__name__)
        return False
    return True
