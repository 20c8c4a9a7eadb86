from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from .models import User
from .tokens import sign_in_link_token

logger = logging.getLogger(__name__)


class EmailTaken(Exception):
    pass


def register_user(*, email: str, password: str, display_name: str = "") -> User:
    """Create the account. The password is hashed before the address is looked up, and hashed just the
    same when the address is taken (then EmailTaken), so both outcomes take the same time."""
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    validate_password(password, User(email=email))
    encoded = make_password(password)  # the expensive step (~0.3 s of PBKDF2), whatever the address
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(email)
    user = User(email=email, password=encoded, display_name=display_name)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:  # registered concurrently
        raise EmailTaken(email) from None
    logger.info("user %s registered", user.pk)
    return user


def sign_in_link_path(user: User) -> str:
    """Path of the welcome e-mail's one-click sign-in link (single use, see accounts.tokens)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("sign-in-link", args=[uid, sign_in_link_token.make_token(user)])


def user_for_sign_in_link(uidb64: str, token: str) -> User | None:
    """The account the link signs in, or None when the link is forged, expired or already used."""
    try:
        user = get_user_model().objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        return None
    if not user.is_active or not sign_in_link_token.check_token(user, token):
        return None
    return user


def sign_up(*, email: str, password: str, site_url: str) -> User | None:
    """Create the account, or tell the existing owner by e-mail. The caller answers the same either way,
    and both paths do the same work (one password hash, one e-mail), so neither the answer nor its
    timing tells whether the address has an account (bench/registration_timing.py measures it).
    The new owner's e-mail carries a one-click sign-in link: the person is signed in without typing
    the password again, and the page after sign-up still cannot tell who already had an account.
    ``site_url`` is the absolute root URL the links start with."""
    from django.conf import settings
    from django.core.mail import send_mail

    site_url = site_url.rstrip("/")
    login_url = site_url + reverse("login")

    try:
        user = register_user(email=email, password=password)
    except EmailTaken:
        existing = get_user_model().objects.filter(email__iexact=email.strip()).first()
        site = settings.SITE_NAME
        send_mail(
            _("Someone tried to sign up to %(site)s with your address") % {"site": site},
            _("Someone (maybe you) tried to create a %(site)s account with this e-mail address, which already "
              "has one.\nIf it was you, log in at %(url)s or reset your password there. Otherwise ignore this "
              "e-mail.\n\nThe %(site)s team") % {"site": site, "url": login_url},
            settings.DEFAULT_FROM_EMAIL,
            [existing.email if existing else email],
            fail_silently=True,
        )
        return None
    send_mail(
        _("Your %(site)s account is ready") % {"site": settings.SITE_NAME},
        _("Welcome to %(site)s. Open this link to sign in and upload your first photo (it works once, "
          "for %(days)d days):\n%(link)s\n\nLater, log in at %(url)s with your e-mail address and password.") % {
            "site": settings.SITE_NAME, "link": site_url + sign_in_link_path(user), "url": login_url,
            "days": settings.PASSWORD_RESET_TIMEOUT // 86400}
        + f"\n\n{_(settings.GENERAL_DISCLAIMER)}\n\n" + _("The %(site)s team") % {"site": settings.SITE_NAME},
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        fail_silently=True,
    )
    return user


def update_profile(
    user: User,
    *,
    display_name: str | None = None,
    consent_training: bool | None = None,
    language: str | None = None,
) -> User:
    """Save what is given (None leaves a field as it is). A new language also becomes the reminder
    e-mails' language; blank (follow the browser) keeps the one they have."""
    from django.conf import settings

    fields = []
    if language is not None and language != user.language and (language == "" or language in dict(settings.LANGUAGES)):
        user.language = language
        fields.append("language")
        if language:
            from reminders.models import ReminderPreference

            ReminderPreference.objects.filter(user=user).update(language=language)
    if display_name is not None:
        user.display_name = display_name
        fields.append("display_name")
    if consent_training is not None and consent_training != user.consent_training:
        user.consent_training = consent_training
        user.consent_updated_at = timezone.now()
        fields += ["consent_training", "consent_updated_at"]
    if fields:
        user.save(update_fields=fields)
    return user


def revoke_api_tokens(user: User) -> int:
    """Blacklist every outstanding API refresh token of the user. Returns how many were still live."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(revoked)


def password_changed(user: User) -> None:
    """A new password (change, reset, admin, command) ends every API session: a thief's refresh token too."""
    revoked = revoke_api_tokens(user)
    if revoked:
        logger.info("user %s changed password: %s API refresh tokens revoked", user.pk, revoked)


def delete_account(user: User) -> None:
    """Remove the account, every scan and every stored file; its API tokens stop working."""
    from diagnosis.services import delete_all_scans

    user_id = user.pk
    with transaction.atomic():
        revoke_api_tokens(user)
        delete_all_scans(user)
        user.delete()
    logger.info("user %s deleted their account", user_id)
