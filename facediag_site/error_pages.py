"""Styled error pages for the web (the API keeps its JSON errors)."""

from django.conf import settings
from django.template import loader


def _render(template_name, request, status, **extra):
    from django.http import HttpResponse

    body = loader.render_to_string(template_name, {"SITE_NAME": settings.SITE_NAME, **extra}, request=None)
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a page a person understands, never Django's debug hints."""
    return _render("403_csrf.html", request, 403)


class MethodNotAllowedPageMiddleware:
    """Django answers a wrong HTTP method with an empty 405; web pages get a styled one instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not request.path.startswith("/api/") and not response.content:
            styled = _render("405.html", request, 405)
            styled["Allow"] = response.get("Allow", "")
            return styled
        return response
