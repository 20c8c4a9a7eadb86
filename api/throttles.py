"""Throttles. Auth and registration rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (scopes
"auth", "register"; env THROTTLE_AUTH / THROTTLE_REGISTER) and are read per request, so a changed
setting (or a test's `settings` override) takes effect without a restart. Uploads are not throttled
here: the upload intake's admission counts them with the web's (diagnosis.services.intake, setting
SCAN_UPLOAD_RATE).

All of them fail open: with the cache (Redis) down a request is let through and a warning logged,
never answered with a 500. Client addresses come from accounts.ratelimit.client_ip, which trusts
X-Forwarded-For only behind NUM_PROXIES proxies.

DRF's SimpleRateThrottle copies the rates at import time (THROTTLE_RATES = api_settings...), which
is why `get_rate` is overridden here.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts import ratelimit


class _LiveRateMixin:
    scope: str | None = None

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope or ""]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from None

    def get_ident(self, request):
        return ratelimit.client_ip(request)

    def allow_request(self, request, view):
        allow = super().allow_request  # type: ignore[misc]  # SimpleRateThrottle's
        return ratelimit.fail_open(lambda: allow(request, view), True)


class _PerIpThrottle(_LiveRateMixin, SimpleRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthThrottle(_PerIpThrottle):
    """Token, refresh and logout requests per client IP."""

    scope = "auth"


class RegisterThrottle(_PerIpThrottle):
    """Registrations per client IP."""

    scope = "register"
