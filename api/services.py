"""API-specific glue around the accounts/diagnosis services (token handling, id parsing)."""

import uuid

from accounts import services as account_services

from .errors import ApiError, not_found


def parse_scan_id(value) -> uuid.UUID:
    """Malformed ids are simply 'not found' (never a 500, never a hint)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise not_found("No such scan.") from None


def delete_account_with_password(user, password):
    if not password or not user.check_password(password):
        raise ApiError("invalid_password", "The password is not correct.", 400,
                       fields={"password": ["The password is not correct."]})
    account_services.delete_account(user)  # also revokes the user's refresh tokens
