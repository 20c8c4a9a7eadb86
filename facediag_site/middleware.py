import logging

from django.db import DatabaseError, OperationalError, connection
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .lib.errors import error_response

logger = logging.getLogger(__name__)

UNAVAILABLE_TEXT = gettext_lazy("FaceDiag is temporarily unavailable. Your data is safe; please try again in a minute.")


def browser_language(request):
    """The browser's language (the language cookie, then Accept-Language), read without the database: these
    answers may come before LocaleMiddleware has run, or while the database is down."""
    return translation.override(translation.get_language_from_request(request))


def database_unavailable_response(request):
    logger.error("database unavailable while serving %s %s", request.method, request.path)
    try:
        connection.close()  # drop the broken connection so the next request reconnects
    except Exception:
        pass
    response: HttpResponse
    with browser_language(request):
        if request.path.startswith("/api/"):
            response = error_response("service_unavailable", str(UNAVAILABLE_TEXT), 503)
        else:
            title = _("Temporarily unavailable")
            response = HttpResponse(
                f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{UNAVAILABLE_TEXT}</p>",
                status=503,
                content_type="text/html; charset=utf-8",
            )
    response["Retry-After"] = "30"
    return response


def server_error(request):
    """handler500: a database outage raised inside middleware is still a 503, not a 500."""
    import sys

    from django.views.defaults import server_error as default_server_error

    if isinstance(sys.exc_info()[1], OperationalError):
        return database_unavailable_response(request)
    if request.path.startswith("/api/"):
        with browser_language(request):
            message = _("Internal error.")
        return error_response("server_error", message, 500)
    return default_server_error(request)


class DatabaseUnavailableMiddleware:
    """Database down: answer 503 (JSON for the API, a plain page otherwise), never a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except OperationalError:
            return self._unavailable(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError):
            return self._unavailable(request)
        return None

    def _unavailable(self, request):
        return database_unavailable_response(request)


class PrivateResponsesMiddleware:
    """Whatever is served to a logged-in person (pages, JSON, the data export) is theirs alone: no shared
    cache or browser history may keep it. Views that set their own Cache-Control (photos: no-store too) keep
    theirs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 500 or response.has_header("Cache-Control"):
            return response  # an error page holds nothing personal (and the database may be down)
        user = getattr(request, "user", None)  # after the view: DRF sets the token's user here too
        try:
            authenticated = user is not None and user.is_authenticated
        except DatabaseError:  # the session could not be read: nothing personal was served either
            return response
        if authenticated:
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ("Cookie",))
        return response


#: The response header that tells the service worker who is signed in (templates/sw.js).
ACCOUNT_HEADER = "FaceDiag-Account"


class SessionAccountHeaderMiddleware:
    """Every page says who it was served to (a user id, or "none"), so the service worker can tell when a
    session has ended however it ended (cookies cleared, expired, the account deleted elsewhere) and drop
    the photos waiting on the device that belong to someone else (finding M5 of issue 30). Only pages
    (HTML, 200): an error page or a redirect is not a statement about the session; nor are the anonymous
    offline pages the service worker keeps (facediag_site.lib.anonymous_pages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html")
                or getattr(response, "offline_stand_in", False)):
            return response
        user = getattr(request, "user", None)
        try:
            account = str(user.pk) if user is not None and user.is_authenticated else "none"
        except DatabaseError:
            return response
        response[ACCOUNT_HEADER] = account
        return response
