"""The upload limit: one policy, one counter per user, for web and API uploads alike."""

from django.conf import settings
from django.utils.translation import ngettext

from accounts import ratelimit


def check_upload(user, photos: int = 1) -> ratelimit.Decision:
    """Count `photos` uploaded photos by `user` against SCAN_UPLOAD_RATE (env THROTTLE_UPLOADS, e.g. 30/hour).

    An upload attempt counts its first photo before its body is read; a scan's other photos (left, right)
    are counted once the form or request is parsed, so a three-photo scan uses three of the limit. A refused
    count uses up nothing; give an accepted one back with `refund_upload` when the upload is not accepted."""
    limit, window = ratelimit.parse_rate(settings.SCAN_UPLOAD_RATE)
    decision = ratelimit.count("uploads", f"user-{user.pk}", limit, window, units=photos)
    if not decision.allowed:
        ratelimit.refund(decision)
    return decision


def refund_upload(decision) -> None:
    """The quota counts accepted photos only: a refused or repeated upload gives its count back."""
    ratelimit.refund(decision)


def refused_message(decision) -> str:
    minutes = max(1, round(decision.retry_after / 60))
    return ngettext("You have uploaded many photos in a short time. Try again in about %(minutes)d minute.",
                    "You have uploaded many photos in a short time. Try again in about %(minutes)d minutes.",
                    minutes) % {"minutes": minutes}
