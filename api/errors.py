"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

Every view in this app uses `api_exception_handler` (through `api.views.ApiMixin`), so
validation failures, auth failures, 404s, throttling, upload rejections and oversized bodies
all look the same to a client.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from diagnosis.imaging import UploadRejected
from facediag_site.lib.errors import error_body, error_response

logger = logging.getLogger(__name__)

GENERIC_MESSAGES = {
    400: _("The request is not valid."),
    401: _("Authentication is required."),
    403: _("You may not do this."),
    404: _("Not found."),
    405: _("Method not allowed."),
    409: _("The request conflicts with the current state of the resource."),
    413: _("The request body is too large."),
    415: _("Unsupported media type."),
    429: _("Too many requests."),
}


class ApiError(exceptions.APIException):
    """An error with an explicit status, machine-readable code and message."""

    def __init__(self, code, message, status_code=400, fields=None, wait=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.fields = fields or {}
        self.wait = wait  # seconds; sent as Retry-After


def upload_error(exc: UploadRejected) -> ApiError:
    return ApiError(exc.code, exc.message, exc.status, fields={exc.field: [exc.message]})


def not_found(message=None) -> ApiError:
    return ApiError("not_found", message or gettext("Not found."), status.HTTP_404_NOT_FOUND)


def _flatten(detail, prefix=""):
    """Turn DRF's nested error detail into {"field": ["message", ...]} with dotted names."""
    fields = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def _code_and_message(exc):
    """(code, message, fields) for any APIException."""
    if isinstance(exc, ApiError):
        return exc.error_code, str(exc.detail), exc.fields
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(detail)
        general = fields.pop("non_field_errors", None)
        if general and not fields:
            return "invalid", general[0], {}
        message = general[0] if general else gettext("Some fields are not valid; see `fields`.")
        return "invalid", message, fields
    if isinstance(detail, dict):
        # simplejwt's InvalidToken: {"detail": ..., "code": ..., "messages": [...]}
        code = detail.get("code") or getattr(exc, "default_code", "error")
        message = detail.get("detail") or GENERIC_MESSAGES.get(exc.status_code, _("Error."))
        return str(code), str(message), {}
    if isinstance(detail, list):
        return getattr(exc, "default_code", "error"), " ".join(str(d) for d in detail), {}
    return getattr(detail, "code", None) or exc.default_code, str(detail), {}


def api_exception_handler(exc, context):
    if isinstance(exc, OperationalError):
        raise exc  # database outage: DatabaseUnavailableMiddleware answers 503 for the whole site
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError("request_too_large", gettext("The request body is larger than the server accepts."), 413)
    elif isinstance(exc, UploadRejected):
        exc = upload_error(exc)
    elif isinstance(exc, Http404):
        exc = not_found(str(exc) if exc.args else None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError("bad_request", gettext("The request could not be processed."), 400)

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        set_rollback()
        return Response(
            error_body("server_error", gettext("Something went wrong on our side. Please try again later.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code, message, fields = _code_and_message(exc)
    response.data = error_body(code, message, fields)
    return response


def api_not_found(request, *args, **kwargs):
    """JSON 404 for any unknown path under /api/ (Django's default would be an HTML page)."""
    from django.urls import Resolver404, resolve

    message = gettext("No API endpoint at this path.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message += " " + gettext("Paths end with a slash: did you mean %(path)s ?") % {"path": request.path + "/"}
    return error_response("not_found", message, 404)
