from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils.translation import get_language

from . import lockout, ratelimit, services


class LoginGuardBackend(ModelBackend):
    """Django's e-mail + password check behind the login lockout (accounts.lockout), for every login:
    web, admin and API tokens. A refused attempt never reaches the password check; the request then
    carries `login_refused` (a lockout.Refusal) so the view can answer 429 with Retry-After.

    An account whose address is not confirmed yet is not usable: its password signs nobody in and no session
    of it counts (whoever signed up first with someone else's address must not get into the account its owner
    goes on to use). For the right password the request then carries `login_unconfirmed`, for the view to say
    so, and the confirmation e-mail is sent again."""

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and getattr(user, "email_verified_at", None) is not None

    def authenticate(self, request, username=None, password=None, **kwargs):
        account = lockout.account_from_credentials({"username": username, **kwargs})
        if request is None or account is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        ip = ratelimit.client_ip(request)
        refusal = lockout.check(account, ip)
        if refusal is not None:
            request.login_refused = refusal
            raise PermissionDenied("login paused")  # stops the other backends too
        user = self._user_with_password(username or kwargs.get(get_user_model().USERNAME_FIELD), password)
        if user is None:
            lockout.record_failure(account, ip)
            return None
        if not self.user_can_authenticate(user):  # the right password of an unconfirmed account
            # Not a success: whoever registered someone else's address must not make their own address one
            # the account "logged in from" (soft delays only) once the owner takes the account.
            request.login_unconfirmed = True
            services.unconfirmed_login(user, site_url=request.build_absolute_uri("/"), language=get_language())
            return None
        lockout.record_success(account, ip)
        return user

    def _user_with_password(self, username, password):
        """ModelBackend.authenticate's password check, active accounts only, confirmed or not."""
        user_model = get_user_model()
        if username is None:
            return None
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            user_model().set_password(password)  # as long as a wrong password (Django's own defence)
            return None
        if user.check_password(password) and super().user_can_authenticate(user):
            return user
        return None
