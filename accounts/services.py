from __future__ import annotations

import logging
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from . import signals
from .models import User
from .tokens import email_confirmation_token

logger = logging.getLogger(__name__)


ACCOUNT_EMAIL_TASK = "accounts.tasks.send_account_email"  # registered by accounts.tasks (AccountsConfig.ready)


class AccountEmail(StrEnum):
    """The e-mails an account gets; each is built and sent by a worker (send_account_email)."""

    CONFIRM = "confirm"  # after sign-up: the link that proves the address
    ALREADY_REGISTERED = "already_registered"  # a sign-up with an address that has a confirmed account
    PASSWORD_RESET = "password_reset"


def queue_account_email(kind: AccountEmail, user_id: int | None, *, site_url: str, language: str = "") -> None:
    """Hand the e-mail to a worker once the transaction commits. Talking to the mail server inside the
    request would tell, by its time, which addresses have accounts (and slow every sign-up and reset).
    ``user_id`` None queues a task that sends nothing: the same work in the request whether or not there is
    an account."""

    def publish() -> None:
        from celery import current_app

        try:
            current_app.tasks[ACCOUNT_EMAIL_TASK].apply_async((str(kind), user_id, site_url, language), retry=False)
        except Exception as exc:  # broker down: the same answer, no mail; signing up or resetting again sends one
            logger.warning("could not queue the %s e-mail of user %s (%s)", kind, user_id, type(exc).__name__)

    transaction.on_commit(publish)


def sign_up(*, email: str, password: str, site_url: str, language: str = "") -> None:
    """Sign up, answering the same whatever the address: every path hashes the password once and queues one
    e-mail (bench/registration_timing.py and tests/security/test_mail_timing.py measure it).

    - A new address: an unconfirmed account, and the e-mail with the link that confirms it.
    - An address whose account was never confirmed: this sign-up replaces that one (its password, and so its
      link, are gone): whoever registered an address first cannot keep it from its owner, nor share it.
    - A confirmed account: its owner is told by e-mail, and nothing changes.
    Over AUTH_RATE_LIMIT_PER_ACCOUNT sign-ups of one address an hour, nothing is done (the same answer).
    ``site_url`` is the absolute root URL the links start with."""
    from . import ratelimit

    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    validate_password(password, User(email=email))
    encoded = make_password(password)  # the expensive step (~0.3 s of PBKDF2), whatever the address
    if not ratelimit.hit("signup-account", email, settings.AUTH_RATE_LIMIT_PER_ACCOUNT):
        return
    for _attempt in range(2):
        try:
            with transaction.atomic():
                user = User.objects.select_for_update().filter(email__iexact=email).first()
                if user is None:
                    user = User(email=email, password=encoded)
                    user.save(force_insert=True)
                    logger.info("user %s registered", user.pk)
                    kind = AccountEmail.CONFIRM
                elif user.email_verified_at is None:
                    user.password, user.date_joined, user.display_name = encoded, timezone.now(), ""
                    user.save(update_fields=["password", "date_joined", "display_name"])
                    logger.info("user %s registered again before confirming: the new sign-up replaces it", user.pk)
                    kind = AccountEmail.CONFIRM
                else:
                    kind = AccountEmail.ALREADY_REGISTERED
                queue_account_email(kind, user.pk, site_url=site_url, language=language)
            return
        except IntegrityError:  # the same address signed up concurrently: the next round replaces that one
            continue


def resend_sign_up_email(*, email: str, site_url: str, language: str = "") -> None:
    """"Send it again" on the check-your-e-mail page: the e-mail a sign-up of ``email`` would send now (the
    confirmation link, or "you already have an account"), or nothing for an unknown address, with the same
    work and answer either way. At most AUTH_RATE_LIMIT_PER_ACCOUNT times an hour per address."""
    from . import ratelimit

    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    if not ratelimit.hit("signup-resend", email, settings.AUTH_RATE_LIMIT_PER_ACCOUNT):
        return
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        queue_account_email(AccountEmail.CONFIRM, None, site_url=site_url, language=language)  # sends nothing
        return
    kind = AccountEmail.CONFIRM if user.email_verified_at is None else AccountEmail.ALREADY_REGISTERED
    queue_account_email(kind, user.pk, site_url=site_url, language=language)


def confirmation_link_path(user: User) -> str:
    """Path of the confirmation e-mail's link (single use, see accounts.tokens)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("confirm-email", args=[uid, email_confirmation_token.make_token(user)])


def user_for_confirmation_link(uidb64: str, token: str) -> User | None:
    """The unconfirmed account the link is for, or None when the link is forged, expired or used."""
    try:
        user = get_user_model().objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        return None
    if not user.is_active or user.email_verified_at is not None:
        return None
    return user if email_confirmation_token.check_token(user, token) else None


def confirm_email(user: User) -> None:
    """The owner proved the address (the confirmation link with the sign-up password or a new one, or a
    password reset): the account can be used."""
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        logger.info("user %s confirmed their e-mail address", user.pk)


def unconfirmed_login(user: User, *, site_url: str, language: str = "") -> None:
    """The right password for an account not confirmed yet: it does not sign in; the confirmation e-mail is
    sent again (at most AUTH_RATE_LIMIT_PER_ACCOUNT times an hour)."""
    from . import ratelimit

    if ratelimit.hit("confirm-resend", user.pk, settings.AUTH_RATE_LIMIT_PER_ACCOUNT):
        queue_account_email(AccountEmail.CONFIRM, user.pk, site_url=site_url, language=language)


def send_account_email(kind: str, user_id: int | None, *, site_url: str, language: str = "") -> bool:
    """Build and send one account e-mail (called by the worker). False when there is nothing to send any more
    (the account is gone, or already confirmed). Errors of the mail server propagate, for the task to retry."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    if user is None:
        return False
    site_url = site_url.rstrip("/")
    site = settings.SITE_NAME
    login_url = site_url + reverse("login")
    with translation.override(language or user.language or settings.LANGUAGE_CODE):
        if kind == AccountEmail.CONFIRM:
            if user.email_verified_at is not None:
                return False
            send_mail(
                _("Confirm your e-mail address for %(site)s") % {"site": site},
                _("Someone (we hope you) signed up to %(site)s with this e-mail address. To confirm it is yours and "
                  "start using your account, open this link (it works once, for %(days)d days) and type the "
                  "password you chose:\n%(link)s\n\nIf you did not sign up, you can ignore this e-mail: nobody "
                  "can use the account until the address is confirmed. (If you want the account after all, "
                  "the same page lets you choose your own password.)") % {
                    "site": site, "link": site_url + confirmation_link_path(user),
                    "days": settings.PASSWORD_RESET_TIMEOUT // 86400}
                + f"\n\n{_(settings.GENERAL_DISCLAIMER)}\n\n" + _("The %(site)s team") % {"site": site},
                settings.DEFAULT_FROM_EMAIL, [user.email],
            )
        elif kind == AccountEmail.ALREADY_REGISTERED:
            send_mail(
                _("Someone tried to sign up to %(site)s with your address") % {"site": site},
                _("Someone (maybe you) tried to create a %(site)s account with this e-mail address, which already "
                  "has one.\nIf it was you, log in at %(url)s or reset your password there. Otherwise ignore this "
                  "e-mail.\n\nThe %(site)s team") % {"site": site, "url": login_url},
                settings.DEFAULT_FROM_EMAIL, [user.email],
            )
        elif kind == AccountEmail.PASSWORD_RESET:
            if not user.has_usable_password():
                return False
            scheme, _sep, domain = site_url.partition("://")
            context = {"email": user.email, "domain": domain, "site_name": site, "protocol": scheme, "user": user,
                       "uid": urlsafe_base64_encode(force_bytes(user.pk)),
                       "token": default_token_generator.make_token(user)}
            # Django's templates, as PasswordResetForm.send_mail renders them (which would swallow a failure).
            subject = "".join(render_to_string("registration/password_reset_subject.txt", context).splitlines())
            send_mail(subject, render_to_string("registration/password_reset_email.html", context),
                      settings.DEFAULT_FROM_EMAIL, [user.email])
        else:
            raise ValueError(f"unknown account e-mail {kind!r}")
    logger.info("%s e-mail sent to user %s", kind, user.pk)
    return True


def update_profile(
    user: User,
    *,
    display_name: str | None = None,
    consent_training: bool | None = None,
    language: str | None = None,
    time_zone: str | None = None,
) -> User:
    """Save what is given (None leaves a field as it is). A new language also becomes the reminder
    e-mails' language; blank (follow the browser) keeps the one they have. The time zone (an IANA name) is
    the pages', charts', reports' and reminders' one: the one setting of it (issue 32, point 7); blank
    follows the device, and reminders keep the zone they had."""
    from django.conf import settings

    from facediag_site.lib.dates import valid_time_zone

    fields = []
    new_zone = time_zone is not None and time_zone != user.time_zone and (time_zone == "" or valid_time_zone(time_zone))
    if new_zone:
        user.time_zone = time_zone or ""
        fields.append("time_zone")
    if language is not None and language != user.language and (language == "" or language in dict(settings.LANGUAGES)):
        user.language = language
        fields.append("language")
        if language:
            signals.language_chosen.send(sender=User, user=user, language=language)
    if display_name is not None:
        user.display_name = display_name
        fields.append("display_name")
    if consent_training is not None and consent_training != user.consent_training:
        user.consent_training = consent_training
        user.consent_updated_at = timezone.now()
        fields += ["consent_training", "consent_updated_at"]
    if fields:
        user.save(update_fields=fields)
    if new_zone and user.time_zone:
        signals.time_zone_chosen.send(sender=User, user=user, time_zone=user.time_zone)
    return user


def revoke_api_tokens(user: User) -> int:
    """Blacklist every outstanding API refresh token of the user. Returns how many were still live."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(revoked)


def password_changed(user: User) -> None:
    """A new password (change, reset, admin, command) ends every API session: a thief's refresh token too.
    When is kept, so that a refresh token of before says why it stopped working (api.services)."""
    get_user_model().objects.filter(pk=user.pk).update(password_changed_at=timezone.now())
    revoked = revoke_api_tokens(user)
    if revoked:
        logger.info("user %s changed password: %s API refresh tokens revoked", user.pk, revoked)


def delete_account(user: User) -> None:
    """Remove the account, every scan and every stored file; its API tokens stop working. The apps that keep
    the person's data delete it on ``signals.account_deleting`` (diagnosis: scans and files)."""
    user_id = user.pk
    with transaction.atomic():
        revoke_api_tokens(user)
        signals.account_deleting.send(sender=User, user=user)
        user.delete()
    logger.info("user %s deleted their account", user_id)
