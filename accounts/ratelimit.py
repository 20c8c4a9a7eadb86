"""Fixed-window counters in the shared cache, for per-IP and per-account request limits."""

import hashlib

from django.core.cache import cache

WINDOW_SECONDS = 3600


def client_ip(request):
    return request.META.get("REMOTE_ADDR", "unknown")


def _key(scope, value):
    digest = hashlib.sha256(str(value).lower().encode()).hexdigest()[:32]  # no raw e-mails in cache keys
    return f"ratelimit:{scope}:{digest}"


def hit(scope, value, limit, window=WINDOW_SECONDS):
    """Count one request; True while it is within the limit."""
    key = _key(scope, value)
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return True
    return count <= limit
