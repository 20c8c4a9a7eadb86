"""The upload-size rule, shared by the web upload (middleware), the API upload view and image validation."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

#: A photo of exactly the limit still arrives inside a multipart body: room for the envelope and a note.
MULTIPART_ALLOWANCE = 64 * 1024
#: One upload carries up to this many photos (a scan's front, left and right: diagnosis.models.PhotoView,
#: a test checks they agree), each within the limit on its own.
PHOTOS_PER_UPLOAD = 3


def too_large_message(max_bytes: int | None = None) -> str:
    """The one wording of the rule (translated), for ``max_bytes`` or the configured limit."""
    max_bytes = settings.SCAN_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    return _("The file is larger than the %(megabytes)d MB limit.") % {"megabytes": max_bytes // (1024 * 1024)}


def declared_length(request: HttpRequest) -> int:
    """The request's Content-Length; 0 when it is missing or not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def body_too_large(request: HttpRequest) -> bool:
    """True when the declared body cannot hold a scan's photos within the limit: refuse it before reading it.
    (Each photo's own size is checked as it is read: diagnosis.imaging.read_upload.)"""
    return declared_length(request) > PHOTOS_PER_UPLOAD * settings.SCAN_MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE
