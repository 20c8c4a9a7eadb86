"""Handing a scan to the analysis worker: the only place that publishes an analysis message."""

import logging
import uuid

from celery import current_app

logger = logging.getLogger(__name__)

#: The analysis task's registered name (the function diagnosis.tasks.analyse_scan, registered at start-up by
#: DiagnosisConfig.ready). Looked up by name so that services never import tasks (tasks import services).
ANALYSIS_TASK = "diagnosis.tasks.analyse_scan"
RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5}
#: A key the broker keeps while it keeps its queues: gone means the broker restarted empty (or was flushed).
BROKER_SENTINEL_KEY = "facediag:broker-sentinel"


def enqueue_analysis(scan_id: uuid.UUID | str) -> bool:
    """Queue analysis; if the broker is down the scan stays queued, marked, and the sweeper publishes it as
    soon as the broker is back (its next run, every SCAN_SWEEP_INTERVAL_SECONDS)."""
    from ..models import Scan

    try:
        current_app.tasks[ANALYSIS_TASK].apply_async((str(scan_id),), retry=True, retry_policy=RETRY_POLICY)
    except Exception as exc:  # any broker failure: the upload itself must still succeed
        logger.warning("could not queue scan %s (%s); the sweeper will re-queue it", scan_id, type(exc).__name__)
        Scan.objects.filter(id=scan_id, status=Scan.Status.QUEUED).update(publish_failed=True)
        return False
    return True


def broker_lost_its_messages() -> bool:
    """True once after a Redis broker came back empty (restarted without persistence, flushed): every message
    it held is gone. The sentinel is set when missing, so the next call answers False. Non-Redis brokers
    answer False. Raises when the broker cannot be reached."""
    with current_app.connection_for_write() as connection:
        client = getattr(connection.default_channel, "client", None)
        if client is None or not hasattr(client, "set"):
            return False
        return bool(client.set(BROKER_SENTINEL_KEY, "1", nx=True))
