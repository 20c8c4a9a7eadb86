"""Health of what analysis depends on: database, cache, broker, a loadable active model, and a live worker.

Each check returns None when healthy, else a short sentence saying what is wrong. ``/healthz/`` runs all
of them; scan pages use ``analysis_pause_reason`` to tell a person why their scan is waiting.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

#: Seconds a broker or model verdict is reused by scan pages (a page polls every few seconds). A "paused"
#: verdict is asked again sooner: once the broker is back, the page says so at its next poll.
PAUSE_CHECK_TTL = 5.0
PAUSED_RECHECK_SECONDS = 1.0
_pause_cache: dict = {"at": 0.0, "value": None}


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means the same thing here
        return f"the database is unreachable ({type(exc).__name__})"
    return None


def check_cache() -> str | None:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return f"the cache is unreachable ({type(exc).__name__})"
    return None if ok else "the cache does not keep values"


def check_broker(timeout: float = 2.0) -> str | None:
    from celery import current_app  # the app tasks are published with

    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)  # type: ignore[arg-type]  # float works; stubs say int
            client = getattr(conn.default_channel, "client", None)  # a filesystem broker checks its folders here
            if client is not None and hasattr(client, "ping"):
                client.ping()  # Redis connects lazily: only a round trip shows it is there
    except Exception as exc:
        return f"the task queue is unreachable ({type(exc).__name__})"
    return None


def check_worker() -> str | None:
    """A worker's heartbeat (facediag_site.heartbeat) seen within WORKER_HEARTBEAT_STALE_SECONDS."""
    from django.conf import settings

    from .heartbeat import last_heartbeat

    try:
        seen = last_heartbeat()
    except Exception as exc:
        return f"the cache is unreachable ({type(exc).__name__})"
    if seen is None:
        return "no analysis worker has reported yet"
    silent = time.time() - seen
    if silent > settings.WORKER_HEARTBEAT_STALE_SECONDS:
        return f"no analysis worker has been seen for {silent:.0f} s"
    return None


def check_model_loadable() -> str | None:
    """An active version whose artifact and base weights are there and match (no inference run)."""
    from ml.selectors import active_model_problem

    return active_model_problem()


def check_model() -> str | None:
    """Loadable, and not failing the scans it analyses (diagnosis.selectors.model_serving, from the database)."""
    from diagnosis.selectors import model_serving

    return check_model_loadable() or model_serving().sentence()


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database, "cache": check_cache, "broker": check_broker, "model": check_model,
    "worker": check_worker,
}
#: What a web process needs to serve (its readiness): the database and a loadable model. Not the worker (the
#: web serves while workers restart), nor Redis: with the cache down request limits fail open, with the broker
#: down an upload is stored and marked for the sweeper (backpressure still counts it), so a Redis blip must not
#: take every web pod out of the Service at once. /healthz/ without ?ready=1 still checks all five.
WEB_CHECKS = ("database", "model")


def run_checks(names: tuple[str, ...] | None = None, *, ready: bool = False) -> dict[str, str | None]:
    """``ready``: a web process's readiness, whose model check is only "loadable": a model failing at
    inference must not take the web out of service (uploads still queue; they are re-queued when a good
    model serves again)."""
    results: dict[str, str | None] = {}
    for name, check in CHECKS.items():
        if names is not None and name not in names:
            continue
        if ready and name == "model":
            check = check_model_loadable
        if name != "database" and results.get("database"):
            results[name] = "not checked: the database is down"
            continue
        if name == "worker" and results.get("cache"):
            results[name] = "not checked: the cache is down"
            continue
        results[name] = check()
    return results


def analysis_pause_reason() -> tuple[str, str] | None:
    """(code, sentence) when queued scans cannot be analysed now, else None. Codes: ``model_unavailable``,
    ``broker_unreachable``. Cached for ``PAUSE_CHECK_TTL`` seconds per process."""
    now = time.monotonic()
    if now - _pause_cache["at"] < (PAUSED_RECHECK_SECONDS if _pause_cache["value"] else PAUSE_CHECK_TTL):
        return _pause_cache["value"]
    value = None
    problem = check_model_loadable()  # a model failing at inference fails scans; it does not pause them
    if problem:
        value = ("model_unavailable", problem)
    else:
        problem = check_broker(timeout=1.0)
        if problem:
            value = ("broker_unreachable", problem)
    if value:
        logger.warning("analysis paused: %s", value[1])
    _pause_cache.update(at=now, value=value)
    return value


def clear_pause_cache() -> None:
    _pause_cache.update(at=0.0, value=None)
