"""The Celery worker's heartbeat: a timestamp in the cache, written from the worker's own event loop.

A worker whose main process died or hangs stops writing it; ``/healthz/`` then fails its ``worker`` check
(facediag_site.health). The loop that writes it is the one that takes messages from the broker, so a worker
that is up but no longer consuming goes quiet too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "facediag:worker-heartbeat"


def record_heartbeat() -> None:
    try:
        cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    except Exception as exc:  # Redis down: the broker's own reconnection reports it; no beat this time
        logger.debug("worker heartbeat not recorded (%s)", type(exc).__name__)


def last_heartbeat() -> float | None:
    """Wall-clock time of the last heartbeat of any worker, None when none was ever recorded."""
    value = cache.get(HEARTBEAT_KEY)
    return float(value) if value is not None else None


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Registered on the worker blueprint by facediag_site.celery; runs on the worker's timer."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        record_heartbeat()
        self.tref = parent.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, record_heartbeat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
