"""Request limits: fixed-window counters in the shared cache, per IP, account or user.

A limit must never turn a request into an error: when the cache (Redis) is unavailable every check
allows the request and logs a warning (fail open). Windows are aligned to the clock, so a refused
request can be told exactly when the window ends (Retry-After).
"""

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
CACHE_ERRORS = (RedisError, OSError)  # Redis down or unreachable; a file-based cache's disk failing
RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends, when refused
    key: str = ""  # the counter it was counted in (refund)
    units: int = 1  # how much it counted (refund gives back as much)


def now():
    return time.time()


def client_ip(request):
    """The client's address. X-Forwarded-For counts only with NUM_PROXIES trusted proxies in front
    (default 0: the header is ignored, so a client cannot pick its own address); it is then read from
    the right, taking the address the outermost trusted proxy saw."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = getattr(settings, "NUM_PROXIES", 0) or 0
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if proxies <= 0 or not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


OUTAGE_WARNING_EVERY_SECONDS = 10  # during an outage, one warning per process this often, not one per request
_last_outage_warning = None


def fail_open(operation, fallback):
    """Run a cache operation; if the cache is down, log it and return `fallback` instead of failing."""
    global _last_outage_warning
    try:
        return operation()
    except CACHE_ERRORS as exc:
        moment = time.monotonic()
        if _last_outage_warning is None or moment - _last_outage_warning >= OUTAGE_WARNING_EVERY_SECONDS:
            _last_outage_warning = moment
            logger.warning("cache unavailable (%s): request limits are not enforced for this request",
                           type(exc).__name__)
        return fallback


def parse_rate(rate):
    """'30/hour' -> (30, 3600); the format DRF uses for its throttle rates."""
    count, period = rate.split("/")
    return int(count), RATE_PERIODS[period.strip()[0]]


def _key(scope, value):
    digest = hashlib.sha256(str(value).lower().encode()).hexdigest()[:32]  # no raw e-mails in cache keys
    return f"ratelimit:{scope}:{digest}"


def count(scope, value, limit, window=WINDOW_SECONDS, units: int = 1):
    """Count one request (as `units`, e.g. the photos of an upload) in the current window; refused once more
    than `limit` were counted."""
    moment = now()
    start = int(moment // window) * window
    key = f"{_key(scope, value)}:{start}"

    def increment():
        if cache.add(key, units, timeout=window + 1):
            return units
        try:
            return cache.incr(key, units)
        except ValueError:  # expired between add and incr
            cache.add(key, units, timeout=window + 1)
            return units

    counted = fail_open(increment, 0)
    if counted <= limit:
        return Decision(True, key=key if counted else "", units=units)
    return Decision(False, max(1, int(start + window - moment + 0.999)), key=key, units=units)


def peek(scope, value, limit, window=WINDOW_SECONDS):
    """Whether `count` would still allow one more in the current window, counting nothing."""
    moment = now()
    start = int(moment // window) * window
    counted = fail_open(lambda: cache.get(f"{_key(scope, value)}:{start}"), None) or 0
    if counted < limit:
        return Decision(True)
    return Decision(False, max(1, int(start + window - moment + 0.999)))


def refund(decision):
    """Take back a request counted by `count` that turned out not to count (e.g. a refused upload)."""

    def decrement():
        try:
            cache.decr(decision.key, decision.units)
        except ValueError:  # the window has ended: nothing to take back
            pass

    if decision is not None and decision.key:
        fail_open(decrement, None)


def hit(scope, value, limit, window=WINDOW_SECONDS):
    """Count one request; True while it is within the limit."""
    return count(scope, value, limit, window).allowed
