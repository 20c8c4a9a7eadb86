"""OpenAPI helpers: the documented error responses every endpoint shares."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(help_text="Machine-readable error code, e.g. `invalid`, `not_found`."),
                "message": serializers.CharField(help_text="Human-readable explanation, safe to show to the user."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    help_text="Per-field messages for validation errors (empty otherwise).",
                ),
            },
            help_text="What went wrong.",
        )
    },
)

ERROR_DESCRIPTIONS = {
    400: "Validation failed: `code` is `invalid` and `fields` has a message per field.",
    401: "Missing, malformed, expired or revoked token (codes `not_authenticated`, `token_not_valid`, "
    "`authentication_failed`, `no_active_account`).",
    404: "No such object, or it belongs to someone else (`not_found`): ids reveal nothing.",
    409: "The object is not in a state that allows this (`not_retryable`).",
    413: "Too large (`request_too_large`).",
    415: "The request body is not in a content type this endpoint accepts (`unsupported_media_type`).",
    429: "Throttled (`throttled`). Wait the number of seconds in the `Retry-After` header.",
    503: "Busy (`busy`): too many photos are waiting to be analysed, nothing was stored. Wait the number of "
    "seconds in the `Retry-After` header.",
}

UPLOAD_ERROR_DESCRIPTIONS = {
    400: "Validation failed (`invalid`), or a photo was rejected: `missing_file`, `empty_file`, "
    "`corrupt_image`, `image_too_small`, `animated_image`; more than three photos: `too_many_photos`. "
    "`fields.image` (or `fields.image_left`, `fields.image_right`: the photo at fault) repeats the message.",
    413: "The file is over the size limit (`file_too_large`) or has too many pixels (`image_too_large`).",
    415: "The file is not a JPEG, PNG or WebP image (`unsupported_media_type`), judged by content, not by "
    "name; or the request is not multipart/form-data.",
}


def errors(*codes, descriptions=None):
    texts = {**ERROR_DESCRIPTIONS, **(descriptions or {})}
    return {code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in codes}


RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request.",
)

UPLOAD_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429, 503],
    description="Seconds to wait before the next upload.",
)

SCAN_ID = OpenApiParameter(
    "scan_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The scan's id (a UUID)."
)


def public_endpoint(*, ok: dict, codes: tuple[int, ...] = (400, 401, 415, 429), descriptions=None, **schema):
    """The schema of an auth endpoint: no bearer token, throttled per IP (so `Retry-After`), these errors."""
    return extend_schema(responses={**ok, **errors(*codes, descriptions=descriptions)}, parameters=[RETRY_AFTER],
                         auth=[], **schema)
