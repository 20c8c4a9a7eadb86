from django.http import HttpResponse
from django.utils.translation import gettext as _

from .imaging import UploadRejected
from .services import intake


class UploadSizeLimitMiddleware:
    """Refuse an oversized upload to a web view marked ``@intake.takes_scan_uploads`` from its Content-Length
    (the intake's rule), before CSRF checks read the body to disk: listed before CsrfViewMiddleware, so its
    process_view runs first. The API view applies the same rule itself, before DRF parses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or not getattr(view_func, "takes_scan_uploads", False):
            return None
        try:
            intake.check_body_size(request)
        except UploadRejected as refusal:
            title, again = _("File too large"), _("Choose another photo")
            return HttpResponse(
                f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{refusal.message}</p>"
                f'<p><a href="{request.path}">{again}</a></p>',
                status=413, content_type="text/html; charset=utf-8",
            )
        return None
