"""Access-checked delivery of a scan's files, shared by the web pages and the API."""

import logging

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from . import selectors
from .models import PHOTO_VIEWS, Scan
from .signals import media_viewed_by_reviewer
from .storage import STORAGE_ERRORS

logger = logging.getLogger(__name__)
KINDS = ("image", "thumbnail", "heatmap")


def scan_file_response(user, scan_id, kind, view=None):
    """The owner's (or a reviewer's, audited) JPEG of one of the scan's photos (``view``: front, left or
    right; None: its first photo, the scan's own URLs); Http404 for anyone else, a view the scan has no photo
    of, or a missing file."""
    if kind not in KINDS or (view is not None and view not in PHOTO_VIEWS):
        raise Http404(_("No such file."))
    scan = selectors.get_scan_for_media(user, scan_id)
    photos = scan.photos.all()
    photo = photos.filter(view=view).first() if view is not None else photos.first()
    if photo is None:
        raise Http404(_("This scan has no such file."))
    field = getattr(photo, kind)
    if not field:
        raise Http404(_("This scan has no such file."))
    response: HttpResponseBase
    try:
        # By storage name: a local file, or an object streamed from the private bucket (never a public URL).
        # FileResponse sizes the file when built, so a failing object store is caught here, before any byte.
        response = FileResponse(field.storage.open(field.name, "rb"), content_type="image/jpeg")
    except FileNotFoundError:
        raise Http404(_("This scan has no such file.")) from None
    except STORAGE_ERRORS as exc:
        logger.warning("media storage unavailable: %s", type(exc).__name__)
        response = HttpResponse(_("The photo store is temporarily unavailable. Try again shortly."),
                                status=503, content_type="text/plain")
        response["Retry-After"] = "30"
        return response
    is_owner = scan.owner_id == user.id
    if not is_owner and kind != "thumbnail":
        # Thumbnails fill lists (the review queue, the admin): counting each would bury the real views.
        media_viewed_by_reviewer.send(sender=Scan, scan=scan, user=user, kind=kind, view=photo.view)
    # A face photo must not outlive the session in a browser cache (a shared device after logout), and
    # reviewers' views are audited on every open: nobody's browser keeps a copy, like the pages.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response
