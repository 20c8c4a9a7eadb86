"""Celery beat's liveness: the scheduler touches a file at every tick, and the probe checks its age.

Beat has no port to probe. ``LivenessScheduler`` (settings.CELERY_BEAT_SCHEDULER) is Celery's persistent
scheduler that touches ``BEAT_LIVENESS_FILE`` (when set) after each tick; beat ticks at least every
``CELERY_BEAT_MAX_LOOP_INTERVAL`` seconds (and every SCAN_SWEEP_INTERVAL_SECONDS for the sweeper). A beat that
hangs (a publish that never returns, a deadlock) stops touching it, and the Kubernetes liveness probe
(``find FILE -mmin -3``, k8s/base/beat.yaml) restarts the pod.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler


def touch(path: str) -> None:
    if not path:
        return
    try:
        Path(path).touch()
    except OSError:  # a read-only or missing folder: beat keeps scheduling, the probe will say so
        pass


class LivenessScheduler(PersistentScheduler):
    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        touch(os.environ.get("BEAT_LIVENESS_FILE", ""))
        return interval
