"""API-specific glue around the accounts/diagnosis services (token handling, id parsing)."""

import uuid

from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services as account_services

from .errors import ApiError, not_found


def with_review(scans):
    """Join the staff review when the review app provides one (it may not be installed yet)."""
    if any(rel.name == "review" for rel in scans.model._meta.related_objects):
        return scans.select_related("review")
    return scans


def parse_scan_id(value) -> uuid.UUID:
    """Malformed ids are simply 'not found' (never a 500, never a hint)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise not_found("No such scan.") from None


def revoke_all_tokens(user):
    """Blacklist every outstanding refresh token of the user (used before account deletion)."""
    for token in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=token)


def delete_account_with_password(user, password):
    if not password or not user.check_password(password):
        raise ApiError("invalid_password", "The password is not correct.", 400,
                       fields={"password": ["The password is not correct."]})
    revoke_all_tokens(user)
    account_services.delete_account(user)
