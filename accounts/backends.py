from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from . import lockout, ratelimit


class LoginGuardBackend(ModelBackend):
    """Django's e-mail + password check behind the login lockout (accounts.lockout), for every login:
    web, admin and API tokens. A refused attempt never reaches the password check; the request then
    carries `login_refused` (a lockout.Refusal) so the view can answer 429 with Retry-After."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        account = lockout.account_from_credentials({"username": username, **kwargs})
        if request is None or account is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        ip = ratelimit.client_ip(request)
        refusal = lockout.check(account, ip)
        if refusal is not None:
            request.login_refused = refusal
            raise PermissionDenied("login paused")  # stops the other backends too
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            lockout.record_failure(account, ip)
        else:
            lockout.record_success(account, ip)
        return user
