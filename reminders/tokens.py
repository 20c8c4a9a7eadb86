"""Signed, login-free unsubscribe tokens (the token itself is the proof; it can only switch reminders off)."""

from django.core import signing

SALT = "reminders.unsubscribe"


def unsubscribe_token(user) -> str:
    return signing.dumps({"u": user.pk}, salt=SALT, compress=True)


def user_id_from_token(token: str):
    """The user id in a valid token, or None for a forged, altered or malformed one."""
    try:
        return signing.loads(token, salt=SALT).get("u")
    except (signing.BadSignature, AttributeError, ValueError, TypeError):
        return None
