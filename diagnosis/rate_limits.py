"""The upload limit: one policy, one counter per user, for web and API uploads alike."""

from django.conf import settings
from django.utils.translation import ngettext

from accounts import ratelimit


def check_upload(user) -> ratelimit.Decision:
    """Count one upload attempt by `user` against SCAN_UPLOAD_RATE (env THROTTLE_UPLOADS, e.g. 30/hour).
    Give it back with `refund_upload` when the upload is not accepted."""
    limit, window = ratelimit.parse_rate(settings.SCAN_UPLOAD_RATE)
    decision = ratelimit.count("uploads", f"user-{user.pk}", limit, window)
    if not decision.allowed:
        ratelimit.refund(decision)  # a refused attempt uses up nothing either
    return decision


def refund_upload(decision) -> None:
    """The quota counts accepted photos only: a refused or repeated upload gives its count back."""
    ratelimit.refund(decision)


def refused_message(decision) -> str:
    minutes = max(1, round(decision.retry_after / 60))
    return ngettext("You have uploaded many photos in a short time. Try again in about %(minutes)d minute.",
                    "You have uploaded many photos in a short time. Try again in about %(minutes)d minutes.",
                    minutes) % {"minutes": minutes}
