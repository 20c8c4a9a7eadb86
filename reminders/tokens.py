"""Login-free unsubscribe tokens. The token is the proof and can only switch reminders off; it is encrypted,
not only signed (a reader learns nothing, not even the user id), and expires after
REMINDER_UNSUBSCRIBE_LINK_DAYS (reminders go out at most monthly: a few mails' links stay usable)."""

from __future__ import annotations

import base64
import hashlib
import time
from enum import Enum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

SALT = b"reminders.unsubscribe"


class TokenProblem(Enum):
    INVALID = "invalid"
    EXPIRED = "expired"


def _fernet() -> MultiFernet:
    """A key derived from SECRET_KEY (and its fallbacks, so rotating the secret key keeps recent links working)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(SALT + s.encode()).digest())) for s in secrets])


def _lifetime() -> int:
    return settings.REMINDER_UNSUBSCRIBE_LINK_DAYS * 86400


def unsubscribe_token(user, now: float | None = None) -> str:
    return _fernet().encrypt_at_time(str(user.pk).encode(), int(time.time() if now is None else now)).decode()


def read_token(token: str, now: float | None = None) -> int | TokenProblem:
    """The user id in a valid, unexpired token, else why not."""
    fernet, moment = _fernet(), int(time.time() if now is None else now)
    try:
        return int(fernet.decrypt_at_time(token.encode(), _lifetime(), moment))
    except (InvalidToken, ValueError, TypeError):
        pass
    try:  # genuine (the signature holds) but too old?
        fernet.extract_timestamp(token.encode())
    except (InvalidToken, ValueError, TypeError):
        return TokenProblem.INVALID
    return TokenProblem.EXPIRED


def user_id_from_token(token: str) -> int | None:
    """The user id in a valid, unexpired token; None for a forged, altered, malformed or expired one."""
    found = read_token(token)
    return None if isinstance(found, TokenProblem) else found
