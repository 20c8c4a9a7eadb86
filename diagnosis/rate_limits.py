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


#: Refusals that cost the web worker a decode (CPU and memory) before the file proved damaged.
COSTLY_REFUSALS = ("corrupt_image",)


def refused_uploads_left(user) -> ratelimit.Decision:
    """Whether `user` may still upload: an account whose uploads were refused as damaged more than
    SCAN_REFUSED_UPLOAD_RATE allows (env THROTTLE_REFUSED_UPLOADS, e.g. 10/hour) is refused before decoding
    anything until the window ends, so damaged files cannot keep the web's CPU from other people."""
    limit, window = ratelimit.parse_rate(settings.SCAN_REFUSED_UPLOAD_RATE)
    return ratelimit.peek("refused-uploads", f"user-{user.pk}", limit, window)


def count_refused_upload(user, code: str) -> None:
    if code in COSTLY_REFUSALS:
        limit, window = ratelimit.parse_rate(settings.SCAN_REFUSED_UPLOAD_RATE)
        ratelimit.count("refused-uploads", f"user-{user.pk}", limit, window)


def refused_uploads_message(decision) -> str:
    minutes = max(1, round(decision.retry_after / 60))
    return ngettext("Several of your recent files could not be read as photos. Try again in about %(minutes)d "
                    "minute.",
                    "Several of your recent files could not be read as photos. Try again in about %(minutes)d "
                    "minutes.", minutes) % {"minutes": minutes}


def refund_upload(decision) -> None:
    """The quota counts accepted photos only: a refused or repeated upload gives its count back."""
    ratelimit.refund(decision)


def refused_message(decision) -> str:
    minutes = max(1, round(decision.retry_after / 60))
    return ngettext("You have uploaded many photos in a short time. Try again in about %(minutes)d minute.",
                    "You have uploaded many photos in a short time. Try again in about %(minutes)d minutes.",
                    minutes) % {"minutes": minutes}
