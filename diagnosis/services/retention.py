"""Housekeeping run by Celery beat: re-queue scans that lost their message, delete photos past retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import selectors, storage
from ..models import Scan
from .queue import broker_lost_its_messages, enqueue_analysis

logger = logging.getLogger(__name__)


def requeue_stuck_scans() -> tuple[int, int]:
    """Re-queue scans stuck in queued/analysing (lost message, broker outage, killed worker).

    At once: scans whose message could not be published (broker down at upload), and every waiting scan when
    the broker came back empty (its queue is gone). After SCAN_STUCK_AFTER_SECONDS: any other. A killed
    worker's messages come back by themselves after the broker's visibility timeout (same task id: the
    claim protocol lets that delivery take over). Returns (stuck scans found, messages published)."""
    cutoff = timezone.now() - timedelta(seconds=settings.SCAN_STUCK_AFTER_SECONDS)
    ids = list(dict.fromkeys([*selectors.stuck_scans(cutoff), *selectors.unpublished_scans(),
                              *(selectors.waiting_scans() if _broker_lost_its_messages() else [])]))
    queued = 0
    for scan_id in ids:
        Scan.objects.filter(id=scan_id, status=Scan.Status.ANALYSING, claimed_at__lt=cutoff).update(
            status=Scan.Status.QUEUED, claim_token=None, claimed_by=""
        )
        Scan.objects.filter(id=scan_id, status=Scan.Status.QUEUED).update(updated_at=timezone.now(),
                                                                             publish_failed=False)
        queued += bool(enqueue_analysis(scan_id))
    if ids:
        logger.info("sweeper: %d stuck scans, %d re-queued", len(ids), queued)
    return len(ids), queued


def _broker_lost_its_messages() -> bool:
    try:
        lost = broker_lost_its_messages()
    except Exception as exc:  # unreachable: publishing fails too, and the scans stay marked for the next run
        logger.warning("sweeper: broker unreachable (%s)", type(exc).__name__)
        return False
    if lost:
        logger.warning("sweeper: the broker came back empty; every waiting scan is queued again")
    return lost


def requeue_waiting_scans() -> int:
    """Queue every scan still waiting now (e.g. when a usable model was just activated): a worker that
    had no model released them, and they would otherwise wait for the sweeper. Duplicate messages are
    harmless: the claim protocol lets one execution analyse a scan."""
    ids = list(Scan.objects.filter(status=Scan.Status.QUEUED).values_list("id", flat=True))
    queued = sum(bool(enqueue_analysis(scan_id)) for scan_id in ids)
    if ids:
        logger.info("model activated: %d waiting scans re-queued", queued)
    return queued


def purge_expired_images(days: int | None = None) -> int:
    """Retention: delete photos older than N days, keep the results. Returns how many scans lost their photo."""
    days = settings.SCAN_IMAGE_RETENTION_DAYS if days is None else days
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    count = 0
    for scan in Scan.objects.filter(created_at__lt=cutoff, image_deleted_at__isnull=True).exclude(
        status__in=[Scan.Status.QUEUED, Scan.Status.ANALYSING]
    ):
        storage.delete_scan_files(scan)
        scan.image_deleted_at = timezone.now()
        with transaction.atomic():
            scan.save(update_fields=["image_deleted_at", "updated_at"])
            scan.photos.update(image="", thumbnail="", heatmap="", heatmap_box=[])  # every photo's files
        count += 1
    return count
