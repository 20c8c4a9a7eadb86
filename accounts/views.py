from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_http_methods

from . import lockout, ratelimit, services, signals
from .forms import (
    ConfirmWithNewPasswordForm,
    ConfirmWithPasswordForm,
    DeleteAccountForm,
    ProfileForm,
    QueuedPasswordResetForm,
    SignupForm,
)

#: The address just signed up with, for the check-your-e-mail page (this browser's session only).
SIGNUP_EMAIL_SESSION_KEY = "signup_email"


@require_http_methods(["GET", "POST"])
def signup(request):
    """The answer is the same whether or not the address already has an account (no enumeration)."""
    if request.user.is_authenticated:
        return redirect("diagnosis:upload")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.hit("signup-ip", ratelimit.client_ip(request), settings.AUTH_RATE_LIMIT_PER_IP):
            return render(request, "registration/rate_limited.html", status=429)
        try:
            services.sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                site_url=request.build_absolute_uri("/"),
                language=translation.get_language(),
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            # shown, and sent again: the address the e-mail went to (services.sign_up's normal form)
            request.session[SIGNUP_EMAIL_SESSION_KEY] = form.cleaned_data["email"].strip().lower()
            return redirect("signup-done")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def signup_done(request):
    """"Check your e-mail": names the address signed up with (kept in this browser's session only) and
    offers to send the e-mail again. The answer is the same whether or not the address has an account."""
    email = request.session.get(SIGNUP_EMAIL_SESSION_KEY, "")
    if request.method == "POST" and email:
        if not ratelimit.hit("signup-ip", ratelimit.client_ip(request), settings.AUTH_RATE_LIMIT_PER_IP):
            return render(request, "registration/rate_limited.html", status=429)
        services.resend_sign_up_email(email=email, site_url=request.build_absolute_uri("/"),
                                      language=translation.get_language())
        messages.success(request, _("We sent the e-mail again. It can take a few minutes; look in the spam "
                                    "folder too."))
        return redirect("signup-done")
    return render(request, "registration/signup_done.html", {"email": email})


@require_http_methods(["GET", "POST"])
def confirm_email(request, uidb64, token):
    """The confirmation e-mail's link. The link proves the mailbox, not who signed up: someone may have signed
    up with another person's address. So it confirms only with the password chosen at sign-up (lockout-guarded
    like a login), or with a new password, which replaces that one. GET only shows the page: mail scanners
    that open links must not use up a single-use link."""
    user = services.user_for_confirmation_link(uidb64, token)
    if user is None:
        return render(request, "registration/confirm_email.html", {"valid": False}, status=400)
    with_password = ConfirmWithPasswordForm(user, request.POST if request.POST.get("action") == "password" else None)
    with_new = ConfirmWithNewPasswordForm(user, request.POST if request.POST.get("action") == "new" else None)
    if request.method == "POST":
        ip = ratelimit.client_ip(request)
        refusal = lockout.check(user.email, ip)
        if refusal is not None:
            response = render(request, "registration/locked_out.html", {"refusal": refusal}, status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        if with_password.is_bound and with_password.is_valid():
            lockout.record_success(user.email, ip)
        elif with_new.is_bound and with_new.is_valid():
            user = with_new.save()  # a new password: any API token of before is revoked (accounts.receivers)
        else:
            if with_password.is_bound:
                lockout.record_failure(user.email, ip)
            return render(request, "registration/confirm_email.html",
                          {"valid": True, "email": user.email, "form": with_password, "new_form": with_new},
                          status=400)
        services.confirm_email(user)
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(request, _("Your address is confirmed and you are signed in. Upload your first photo."))
        return redirect("diagnosis:upload")
    return render(request, "registration/confirm_email.html",
                  {"valid": True, "email": user.email, "form": with_password, "new_form": with_new})


class RateLimitedPasswordResetView(auth_views.PasswordResetView):
    """Per-IP and per-account limits; over the limit the page looks the same but no mail is sent. The mail
    itself is sent by a worker (QueuedPasswordResetForm), so the answer takes as long with an account as
    without."""

    form_class = QueuedPasswordResetForm

    @property
    def extra_email_context(self):  # type: ignore[override]  # computed, where Django has an attribute
        # The e-mail says the site's name, not the host it was requested on ("The 127.0.0.1:8100 team").
        return {"site_name": settings.SITE_NAME}

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        ip_ok = ratelimit.hit("reset-ip", ratelimit.client_ip(self.request), settings.AUTH_RATE_LIMIT_PER_IP)
        account_ok = ratelimit.hit("reset-account", email, settings.AUTH_RATE_LIMIT_PER_ACCOUNT)
        if not ip_ok:
            return render(self.request, "registration/rate_limited.html", status=429)
        if not account_ok:
            return redirect(self.get_success_url())
        return super().form_valid(form)


class ConfirmingPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset link proves the mailbox and replaces the password: the address counts as confirmed."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.confirm_email(form.user)
        return response


def set_language(request):
    """Django's language menu view; a signed-in person's choice is also saved on the profile, which wins over
    the browser on every device (accounts.middleware.ProfileLanguageMiddleware)."""
    response = i18n.set_language(request)
    language = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER)
    if request.method == "POST" and request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.update_profile(request.user, language=language)
    return response


def _language_cookie(response, language):
    """Keep the device's language cookie in step with the profile: it decides once the person signs out."""
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    else:  # "follow my browser": an older menu choice must not stand in for it
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH,
                               domain=settings.LANGUAGE_COOKIE_DOMAIN, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"display_name": user.display_name, "consent_training": user.consent_training,
                 "language": user.language, "time_zone": user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user, display_name=form.cleaned_data["display_name"],
            consent_training=form.cleaned_data["consent_training"], language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"] if "time_zone" in request.POST else None,  # older pages
        )
        if user.language:  # the confirmation in the language just chosen
            translation.activate(user.language)
        messages.success(request, _("Profile saved."))
        return _language_cookie(redirect("profile"), user.language)
    context: dict[str, object] = {"form": form}
    for _receiver, section in signals.profile_page.send(sender=type(user), user=user):
        context.update(cast("dict[str, object]", section))  # the other apps' sections (reminders: its form)
    return render(request, "accounts/profile.html", context)


#: Clear-Site-Data when a session ends (finding M5 of issue 30): the browser drops what it kept for the
#: person: the HTTP cache, and with "storage" the photos waiting offline, the service worker and its caches
#: (which hold no signed-in page any more: templates/sw.js). A deleted account leaves nothing on the device;
#: so does a logout, unless the person chose to keep their waiting photos for their next sign-in here
#: (static/js/offline-uploads.js asks, and sends waiting=keep).
KEEP_WAITING_SITE_DATA = '"cache"'
LOGOUT_SITE_DATA = '"cache", "storage"'
DELETED_ACCOUNT_SITE_DATA = '"cache", "storage"'


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        keep = request.POST.get("waiting") == "keep"
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = KEEP_WAITING_SITE_DATA if keep else LOGOUT_SITE_DATA
        return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        services.delete_account(user)
        messages.success(request, _("Your account, scans and photos were deleted."))
        response = redirect("home")
        response["Clear-Site-Data"] = DELETED_ACCOUNT_SITE_DATA
        return response
    return render(request, "accounts/delete_account.html", {"form": form})
