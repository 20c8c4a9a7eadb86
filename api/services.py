"""API-specific writes around the accounts services: refresh-token rotation, password-checked deletion."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import jwt
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as account_services

from .errors import ApiError

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# A login starts a token family; every refresh token rotated from it carries the family id (the first
# token's jti). A rotated (blacklisted) token presented again means two holders: revoke the family.
FAMILY_CLAIM = "fam"
REUSED_MESSAGE = gettext_lazy(
    "This refresh token was already used. Every token of this login is revoked: log in again."
)
ENDED_MESSAGE = gettext_lazy("This login has ended (you logged out, or it was revoked). Log in again.")
ACCOUNT_GONE_MESSAGE = gettext_lazy("The account of this token no longer exists.")
PASSWORD_CHANGED_MESSAGE = gettext_lazy(
    "The password of this account was changed, which ended every login made with the old one. Log in again "
    "with the new password."
)


def delete_account_with_password(user: User, password: str) -> None:
    if not password or not user.check_password(password):
        message = gettext("The password is not correct.")
        raise ApiError("invalid_password", message, 400, fields={"password": [message]})
    account_services.delete_account(user)  # also revokes the user's refresh tokens


def _family(payload: Any) -> str:
    return payload.get(FAMILY_CLAIM) or payload[jwt_settings.JTI_CLAIM]


def rotate_refresh_token(raw: str) -> dict[str, str]:
    """A new access token and a new refresh token of the same family; the one sent is used up.

    Raises InvalidToken for a bad, expired or used token (a used one revokes its whole family) and
    AuthenticationFailed for an inactive account.
    """
    try:
        # (The stubs say Token; simplejwt takes the encoded string, and outstand() is newer than the stubs.)
        refresh: Any = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        ended = why_login_ended(raw)  # not a reuse: say what happened, and warn nobody
        if ended:
            raise InvalidToken(str(ended)) from None
        if revoke_family_if_reused(raw):
            raise InvalidToken(str(REUSED_MESSAGE)) from None
        raise InvalidToken(exc.args[0]) from None
    user = get_user_model().objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None:
        raise InvalidToken(str(ACCOUNT_GONE_MESSAGE))
    if not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed(gettext("No active account found for the given token."), "no_active_account")
    family = _family(refresh.payload)
    with transaction.atomic():
        outstanding, _ = refresh.outstand()
        _, first_use = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not first_use:  # a concurrent request used it a moment ago
        _revoke_family(user.pk, family)
        raise InvalidToken(str(REUSED_MESSAGE))
    refresh[FAMILY_CLAIM] = family
    access = str(refresh.access_token)
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    refresh.outstand()
    return {"access": access, "refresh": str(refresh)}


def why_login_ended(raw: str) -> Any:
    """For a genuine, unexpired refresh token refused as revoked without being reused, the sentence saying
    why: its account was deleted, its password changed, or its login ended (logout: the token was revoked
    and nothing was rotated from it). None otherwise (then a revoked token was used before: a reuse)."""
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # the encoded string
    except TokenBackendError:
        return None
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh" or jwt_settings.JTI_CLAIM not in payload:
        return None
    user_id = payload.get(jwt_settings.USER_ID_CLAIM)
    if user_id is None or not get_user_model().objects.filter(pk=user_id).exists():
        return ACCOUNT_GONE_MESSAGE
    if revoked_by_password_change(raw):
        return PASSWORD_CHANGED_MESSAGE
    issued = OutstandingToken.objects.filter(jti=payload[jwt_settings.JTI_CLAIM]).first()
    if issued is not None and not _has_successor(issued, _family(payload)):
        return ENDED_MESSAGE
    return None


def _has_successor(issued: OutstandingToken, family: str) -> bool:
    """Whether a token of the same family was issued after `issued`: it was rotated, so presenting it again
    is a reuse."""
    if issued.user_id is None:
        return False
    later = OutstandingToken.objects.filter(user_id=issued.user_id, created_at__gt=issued.created_at).only("token")
    return any(_family(jwt.decode(t.token, options={"verify_signature": False})) == family for t in later)


def revoked_by_password_change(raw: str) -> bool:
    """True for a genuine, unexpired refresh token issued before its account's last new password (which
    revoked it, accounts.services.password_changed)."""
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # the encoded string
    except TokenBackendError:
        return False
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh" or jwt_settings.JTI_CLAIM not in payload:
        return False
    # When the token was issued, to the microsecond (its `iat` claim has whole seconds only).
    issued = OutstandingToken.objects.filter(jti=payload[jwt_settings.JTI_CLAIM]).select_related("user").first()
    changed_at = issued.user.password_changed_at if issued is not None and issued.user is not None else None
    return changed_at is not None and issued is not None and issued.created_at is not None \
        and issued.created_at < changed_at


def revoke_family_if_reused(raw: str) -> bool:
    """True when `raw` is a genuine, unexpired refresh token that was already used or revoked; its
    family is then revoked. Only a token with our signature can revoke anything."""
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # the encoded string
    except TokenBackendError:
        return False
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh" or jwt_settings.JTI_CLAIM not in payload:
        return False
    if not BlacklistedToken.objects.filter(token__jti=payload[jwt_settings.JTI_CLAIM]).exists():
        return False
    _revoke_family(payload.get(jwt_settings.USER_ID_CLAIM), _family(payload))
    return True


def _revoke_family(user_id: Any, family: str) -> None:
    live = OutstandingToken.objects.filter(
        user_id=user_id, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    ).only("id", "token")
    # The stored tokens are ours (written at issue time), so reading their claims needs no signature check.
    members = [t for t in live if _family(jwt.decode(t.token, options={"verify_signature": False})) == family]
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in members], ignore_conflicts=True)
    logger.warning("refresh token reuse for user %s: %s live tokens of its family revoked", user_id, len(members))
