"""Throttles. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (scopes "uploads", "auth",
"register"; env THROTTLE_UPLOADS / THROTTLE_AUTH / THROTTLE_REGISTER) and are read per request,
so a changed setting (or a test's `settings` override) takes effect without a restart.

DRF's SimpleRateThrottle copies the rates at import time (THROTTLE_RATES = api_settings...), which
is why `get_rate` is overridden here.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _LiveRateMixin:
    scope = None

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from None


class UploadThrottle(_LiveRateMixin, SimpleRateThrottle):
    """Uploads per user (POST only; reads are not throttled)."""

    scope = "uploads"

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _PerIpThrottle(_LiveRateMixin, SimpleRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthThrottle(_PerIpThrottle):
    """Token, refresh and logout requests per client IP."""

    scope = "auth"


class RegisterThrottle(_PerIpThrottle):
    """Registrations per client IP."""

    scope = "register"
