"""Backpressure: refuse new uploads while the work already waiting would keep a new scan waiting too long.

The waiting work is measured in seconds: the scans accepted and not finished (queued or analysing) divided
by the rate the workers finish them. That rate is measured over the last ``SCAN_RATE_WINDOW_SECONDS`` from
the scans' completion times, and never taken below ``SCAN_ANALYSIS_RATE`` (scans/s one worker sustains,
measured by bench/worker_throughput.py and bench/load.py), so a quiet minute, or a fleet that has just
started, does not read as "no capacity". More workers finish more scans, so the limit grows with them.

Above ``SCAN_BACKLOG_LIMIT_SECONDS`` (0 turns it off) an upload is refused before anything is read or
stored: 503 with ``Retry-After`` on the API, a "busy, try again in a minute" page on the web. Refused
uploads do not count against the person's hourly upload quota.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import selectors

#: Seconds a process may reuse its reading (one pair of indexed counts per second, not per upload)...
CACHE_SECONDS = 1.0
#: ...and only while the waiting work, the scans this process accepted since included, is under this share of
#: the limit. Nearer the limit every upload measures again: a reused reading let a burst overshoot it (60
#: accepted against 40; finding L6 of issue 30).
REUSE_BELOW_SHARE = 0.5
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 5, 120
_cached: dict = {"at": -math.inf, "load": None, "accepted": 0}


@dataclass(frozen=True)
class Load:
    backlog: int  # scans queued or analysing
    rate: float  # scans per second the workers finish (measured, at least the configured floor)
    limit_seconds: float  # SCAN_BACKLOG_LIMIT_SECONDS; 0 never refuses

    @property
    def seconds(self) -> float:
        """Seconds of work waiting."""
        return self.backlog / self.rate if self.rate > 0 else math.inf if self.backlog else 0.0

    @property
    def busy(self) -> bool:
        return self.limit_seconds > 0 and self.seconds > self.limit_seconds

    @property
    def retry_after(self) -> int:
        """Seconds until the work above the limit is likely done (bounded: a person waits a minute or two)."""
        excess = self.seconds - self.limit_seconds if math.isfinite(self.seconds) else RETRY_AFTER_MAX
        return int(min(RETRY_AFTER_MAX, max(RETRY_AFTER_MIN, math.ceil(excess))))


def measure_load() -> Load:
    window = max(1.0, float(settings.SCAN_RATE_WINDOW_SECONDS))
    finished = selectors.scans_finished_since(timezone.now() - timedelta(seconds=window))
    rate = max(finished / window, float(settings.SCAN_ANALYSIS_RATE))
    return Load(backlog=selectors.analysis_backlog(), rate=rate,
                limit_seconds=float(settings.SCAN_BACKLOG_LIMIT_SECONDS))


def current_load(use_cache: bool = True) -> Load:
    now = time.monotonic()
    cached = _cached["load"]
    if use_cache and cached is not None and now - _cached["at"] < CACHE_SECONDS:
        estimate = Load(cached.backlog + _cached["accepted"], cached.rate, cached.limit_seconds)
        if estimate.limit_seconds <= 0 or estimate.seconds <= estimate.limit_seconds * REUSE_BELOW_SHARE:
            return estimate
    load = measure_load()
    _cached.update(at=now, load=load, accepted=0)
    return load


def note_accepted() -> None:
    """A scan this process just accepted: a reused reading counts it until the next measurement."""
    _cached["accepted"] += 1


def check_upload() -> Load | None:
    """The current load when uploads must be refused now, else None."""
    if float(settings.SCAN_BACKLOG_LIMIT_SECONDS) <= 0:
        return None
    load = current_load()
    return load if load.busy else None


def expected_refusal(response: Any) -> Any:
    """Keep Django from logging a busy 503 as a server error (it is counted in facediag_uploads_refused_total;
    under load one error line per refusal would bury the real errors)."""
    response._has_been_logged = True
    return response


def clear_cache() -> None:
    _cached.update(at=-math.inf, load=None, accepted=0)
