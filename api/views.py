"""/api/v1 views: thin. Input is validated by serializers, work is done by the accounts and
diagnosis services/selectors (the same ones the web pages use), errors are shaped by api.errors."""

from collections.abc import Sequence
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.metadata import BaseMetadata
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services as account_services
from accounts.forms import UNCONFIRMED_MESSAGE
from accounts.models import User
from diagnosis import backpressure, selectors
from diagnosis import services as scan_services
from diagnosis.media import KINDS as MEDIA_KINDS
from diagnosis.media import scan_file_response
from diagnosis.models import EXTRA_VIEWS, PHOTO_VIEWS, Scan, photo_field
from diagnosis.services import intake

from . import serializers as s
from .errors import ApiError, api_exception_handler, upload_error
from .filters import ScanFilter
from .pagination import ScanPagination
from .schema import SCAN_ID, UPLOAD_ERROR_DESCRIPTIONS, UPLOAD_RETRY_AFTER, errors, public_endpoint
from .services import delete_account_with_password
from .throttles import AuthThrottle, RegisterThrottle


class ApiMixin:
    # JSON in, JSON out, one error shape. No content negotiation: an `Accept` header a client sends
    # for a file download must not turn an error into a 406.

    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    metadata_class: str | type[BaseMetadata] | None = None  # no OPTIONS introspection

    def get_exception_handler(self):
        return api_exception_handler

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # type: ignore[misc]  # APIView's

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # APIView's
        # A bearer token is only known here (the web's ProfileLanguageMiddleware ran before DRF): the
        # profile language wins over Accept-Language for the API as well.
        language = getattr(request.user, "language", "")
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language


class ApiView(ApiMixin, APIView):
    pass


def _own_scan(request, scan_id):
    return selectors.get_owned_scan(request.user, s.parse_scan_id(scan_id))


# --- auth -------------------------------------------------------------------------------------

@extend_schema(tags=["auth"])
class RegisterView(ApiView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]

    @public_endpoint(
        operation_id="auth_register",
        summary="Create an account",
        description="Signs up; the account works once its owner confirms the address. FaceDiag e-mails a link "
        "to it: the person opens it (in a browser) and types the password sent here, or chooses a new one "
        "there. Until then `POST /api/v1/auth/token/` answers 403 `email_unconfirmed` (and sends the link "
        "again); afterwards it gives tokens. Registering an unconfirmed address again replaces the earlier "
        "registration (a new password, a new link; the old link stops working). If the address has a "
        "confirmed account the answer is the same (its owner is told by e-mail), so this endpoint reveals "
        "nothing about who has an account. Password rules: at least 8 characters, not a common password, not "
        "only digits, not similar to the e-mail. Throttled per IP (setting THROTTLE_REGISTER).",
        request=s.RegisterSerializer,
        ok={201: s.RegisteredSerializer},
        codes=(400, 415, 429),
    )
    def post(self, request):
        data = s.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        try:
            # The web sign-up's service: an address that already has an account gets the same answer
            # (and its owner an e-mail), so registration cannot be used to find out who has an account.
            account_services.sign_up(
                email=email,
                password=data.validated_data["password"],
                site_url=request.build_absolute_uri("/"),
                language=translation.get_language(),
            )
        except DjangoValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        body = {"email": email.strip().lower(), "message": s.REGISTERED_MESSAGE}
        return Response(s.RegisteredSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class TokenView(ApiMixin, TokenObtainPairView):
    serializer_class = s.TokenObtainSerializer
    throttle_classes = [AuthThrottle]

    @public_endpoint(
        operation_id="auth_token",
        summary="Log in: get an access and a refresh token",
        description="Send `Authorization: Bearer <access>` with every other request. The access token is "
        "short-lived (JWT_ACCESS_MINUTES); get a new pair with `/api/v1/auth/token/refresh/`. "
        "Throttled per IP (setting THROTTLE_AUTH). After repeated wrong passwords the account is locked "
        "for addresses it has not logged in from, and slowed down (a growing delay) from those it has "
        "(429, code `locked_out`, with `Retry-After`). The right password of an account whose address is not "
        "confirmed yet gives no tokens: 403 `email_unconfirmed`, and the confirmation link is e-mailed again "
        "(see `/auth/register/`).",
        ok={200: OpenApiResponse(s.TokenPairSerializer)},
        codes=(400, 401, 403, 415, 429),
        descriptions={403: "The address of this account is not confirmed yet (`email_unconfirmed`): open the link "
                      "in the e-mail, then log in again."},
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            refusal = getattr(request, "login_refused", None)  # set by accounts.backends.LoginGuardBackend
            if refusal is not None:
                raise ApiError("locked_out", _("Too many failed logins for this account. Try again later."), 429,
                               wait=refusal.retry_after) from None
            if getattr(request, "login_unconfirmed", False):
                raise ApiError("email_unconfirmed", str(UNCONFIRMED_MESSAGE), 403) from None
            raise


@extend_schema(tags=["auth"])
class TokenRefresh(ApiMixin, TokenRefreshView):
    serializer_class = s.SafeTokenRefreshSerializer
    throttle_classes = [AuthThrottle]

    @public_endpoint(
        operation_id="auth_token_refresh",
        summary="Exchange a refresh token for a new pair",
        description="Refresh tokens rotate: the response has a new `refresh` and the one you sent is "
        "blacklisted, so each refresh token works once. Sending a used refresh token again revokes every "
        "refresh token of that login (someone else may hold a copy): log in again. A password change or "
        "reset revokes all of the account's refresh tokens.",
        ok={200: OpenApiResponse(s.TokenPairSerializer)},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


@extend_schema(tags=["auth"])
class LogoutView(ApiView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a bad refresh token is a 401, as at /auth/token/refresh/

    @public_endpoint(
        operation_id="auth_logout",
        summary="Log out: revoke a refresh token",
        description="Blacklists the refresh token; it cannot be used again. The (short-lived) access "
        "token stays valid until it expires, so discard it on the device.",
        request=s.LogoutSerializer,
        ok={204: OpenApiResponse(description="Logged out.")},
    )
    def post(self, request):
        data = s.LogoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            RefreshToken(data.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- scans ------------------------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional, at most 100 characters (e.g. a UUID made on the device). Retrying the upload "
    "with the same key returns the scan the first request created instead of making a second one.",
)


@extend_schema(tags=["scans"])
class ScanListCreateView(ApiMixin, generics.ListAPIView):
    serializer_class = s.ScanSerializer
    filterset_class = ScanFilter
    pagination_class = ScanPagination
    parser_classes = [MultiPartParser]
    throttle_classes: Sequence[type] = []  # uploads: the intake's admission (check_throttles)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Scan.objects.none()
        # IsAuthenticated: never anonymous. Each scan lists its photos: one query for the whole page.
        return selectors.scans_for_owner(cast(User, self.request.user), with_photos=True)

    @extend_schema(
        operation_id="scans_list",
        summary="Your scans, newest first",
        description="Only your own scans. Paginated (`page`, `page_size` up to 100; a page past the end "
        "is a 404) and filterable by `label`, `status` and a date range (`date_from`, `date_to`).",
        responses={200: s.ScanSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def check_throttles(self, request):
        """The intake's size check and admission (backpressure, then the quota) before DRF parses the body."""
        if request.method == "POST":
            try:
                intake.check_body_size(request)
                request.admission = intake.admit(request.user)
            except scan_services.UploadRejected as refusal:
                raise _api_refusal(refusal) from None
        super().check_throttles(request)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if getattr(exc, "error_code", "") == "busy":
            backpressure.expected_refusal(response)
        return response

    @extend_schema(
        operation_id="scans_create",
        summary="Upload a face photo (or up to three: front, left, right) for analysis",
        description="Multipart upload (field `image`, optional `image_left` and `image_right`, optional `note`). "
        "Each photo is checked like a web upload (format by content, size, pixels, minimum side), re-encoded "
        "without metadata, and queued; one bad photo refuses the whole upload (`fields` names it) and nothing "
        "is stored. More than three photos, or two under one field, is a 400 (`too_many_photos`, `invalid`). "
        "The photos of a scan are analysed together and combined into one result (see `photos`). "
        "Answers `202` at once: poll `url` until `status` is `done` or `failed`. Throttled per user "
        "(setting THROTTLE_UPLOADS; each accepted photo counts; refused and replayed uploads count none). "
        "While more work is waiting than the workers "
        "finish in SCAN_BACKLOG_LIMIT_SECONDS, answers `503` (`busy`) with `Retry-After` before reading the "
        "photos: nothing is stored and the quota is not used.",
        request={"multipart/form-data": s.ScanCreateSerializer},
        responses={
            202: s.ScanAcceptedSerializer,
            **errors(400, 401, 413, 415, 429, 503, descriptions=UPLOAD_ERROR_DESCRIPTIONS),
        },
        parameters=[IDEMPOTENCY_KEY, UPLOAD_RETRY_AFTER],
    )
    def post(self, request):
        """The API door of the upload intake (diagnosis.services.intake); the web upload page is the other."""
        admission = request.admission
        try:
            scan, created = self._accept(request, admission)
        except Exception as exc:  # parsing refused it (415, 400...): the one refund path, counted once
            admission.refuse(getattr(exc, "error_code", None) or getattr(exc, "default_code", "other"))
            raise
        body = s.ScanAcceptedSerializer(scan, context={"request": request}).data
        headers = {"Location": body["url"]}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    def _accept(self, request, admission):
        try:
            intake.check_parts(admission, request.FILES)
            key = intake.idempotency_key_of(request.headers.get("Idempotency-Key", ""))
        except scan_services.UploadRejected as exc:
            raise _api_refusal(exc) from None
        data = s.ScanCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            return intake.accept(
                admission,
                front=data.validated_data["image"],
                note=data.validated_data["note"],
                idempotency_key=key,
                extra_photos={view: data.validated_data.get(photo_field(view)) for view in EXTRA_VIEWS},
            )
        except scan_services.UploadRejected as exc:
            raise _api_refusal(exc) from None


def _api_refusal(refusal: scan_services.UploadRejected) -> Exception:
    """The intake's refusal in the API's error envelope: over the quota is DRF's 429 ``throttled`` (the API's
    other throttles' answer), busy a 503 with Retry-After, a key over its limit names the header."""
    if refusal.code == "quota":
        return Throttled(wait=refusal.retry_after)
    if refusal.code == "busy":
        return ApiError("busy", refusal.message, 503, wait=refusal.retry_after)
    if refusal.field == "Idempotency-Key":
        return ApiError(refusal.code, refusal.message, refusal.status,
                        fields={"Idempotency-Key": [_("At most 100 characters.")]})
    return upload_error(refusal)


@extend_schema(tags=["scans"], parameters=[SCAN_ID])
class ScanDetailView(ApiView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="scans_retrieve",
        summary="A scan: its status and, once done, the result",
        description="Poll while `status` is `queued` or `analysing` (every 1-2 s is fine).",
        responses={200: s.ScanSerializer, **errors(401, 404)},
    )
    def get(self, request, scan_id):
        scan = _own_scan(request, scan_id)
        return Response(s.ScanSerializer(scan, context={"request": request}).data)

    @extend_schema(
        operation_id="scans_partial_update",
        summary="Edit the note",
        description="Only `note` can be changed; other fields are ignored.",
        request=s.ScanNoteSerializer,
        responses={200: s.ScanSerializer, **errors(400, 401, 404, 415)},
    )
    def patch(self, request, scan_id):
        scan = _own_scan(request, scan_id)
        data = s.ScanNoteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "note" in data.validated_data:
            scan = scan_services.update_scan_note(scan, data.validated_data["note"])
        return Response(s.ScanSerializer(scan, context={"request": request}).data)

    @extend_schema(
        operation_id="scans_destroy",
        summary="Delete the scan and its files",
        description="Deletes the scan, its result and its stored photo, thumbnail and heatmap.",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 404)},
    )
    def delete(self, request, scan_id):
        scan_services.delete_scan(_own_scan(request, scan_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["scans"], parameters=[SCAN_ID])
class ScanRetryView(ApiView):
    @extend_schema(
        operation_id="scans_retry",
        summary="Queue a failed scan for analysis again",
        description="Only a `failed` scan whose photo is still stored can be retried (`can_retry`); "
        "otherwise 409. Poll the scan afterwards as after an upload.",
        request=None,
        responses={202: s.ScanSerializer, **errors(401, 404, 409)},
    )
    def post(self, request, scan_id):
        scan = _own_scan(request, scan_id)
        try:
            scan = scan_services.retry_scan(scan)
        except scan_services.ScanNotRetryable as exc:
            raise ApiError("not_retryable", str(exc), 409) from None
        return Response(s.ScanSerializer(scan, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ScanMediaView(ApiView):
    # The owner's (or a reviewer's) JPEG of a scan. Never public, never cached by shared caches.

    kind = None  # "image", "thumbnail" or "heatmap", set in urls.py

    def get(self, request, scan_id):
        return scan_file_response(request.user, s.parse_scan_id(scan_id), self.kind)


def _media_view(kind, summary):
    @extend_schema(
        tags=["scans"],
        parameters=[SCAN_ID],
        operation_id=f"scans_{kind}",
        summary=summary,
        description="Owner only (and staff reviewers). Send the bearer token.",
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **errors(401, 404)},
    )
    def get(self, request, scan_id):
        return ScanMediaView.get(self, request, scan_id)

    return type(f"Scan{kind.title()}View", (ScanMediaView,), {"kind": kind, "get": get, "__module__": __name__})


ScanImageView = _media_view("image", "The stored photo (JPEG, metadata removed)")
ScanThumbnailView = _media_view("thumbnail", "A small preview of the photo (JPEG)")
ScanHeatmapView = _media_view("heatmap", "Where the model looked (JPEG), once done")


@extend_schema(tags=["scans"])
class ScanPhotoMediaView(ApiView):
    @extend_schema(
        parameters=[
            SCAN_ID,
            OpenApiParameter("view", str, OpenApiParameter.PATH, enum=list(PHOTO_VIEWS),
                             description="Which photo: `front` (the one sent as `image`), `left` or `right`."),
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(MEDIA_KINDS),
                             description="The photo, its preview, or where the model looked on it."),
        ],
        operation_id="scans_photo_media",
        summary="One file of one of the scan's photos (JPEG)",
        description="The URLs are in the scan's `photos`. Owner only (and staff reviewers). Send the bearer token.",
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **errors(401, 404)},
    )
    def get(self, request, scan_id, view, kind):
        return scan_file_response(request.user, s.parse_scan_id(scan_id), kind, view)


# --- history ----------------------------------------------------------------------------------

@extend_schema(tags=["history"])
class HistorySummaryView(ApiView):
    @extend_schema(
        operation_id="history_summary",
        summary="Per class, the confidence of your finished scans over time (for a chart)",
        description="Only finished (`done`) scans that got a class (not `uncertain` or `no_skin`), oldest first. "
        "`series` is ready for a line chart per "
        "class; `points` has the same data per scan; `lesions` the spots counted on those with lesion findings. "
        "Optionally limited to a date range.",
        parameters=[s.DateRangeSerializer],
        responses={200: s.HistorySummarySerializer, **errors(400, 401)},
    )
    def get(self, request):
        query = s.DateRangeSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        summary = selectors.confidence_series(request.user, **query.validated_data)
        return Response({**summary, "lesions": summary["lesions"]["points"], "disclaimer": _(settings.DISCLAIMER)})


# --- account ----------------------------------------------------------------------------------

@extend_schema(tags=["account"])
class MeView(ApiView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Your profile",
        description="Your e-mail, display name, consent flag and language.",
        responses={200: s.ProfileSerializer, **errors(401)},
    )
    def get(self, request):
        return Response(s.ProfileSerializer(request.user).data)

    @extend_schema(
        operation_id="me_partial_update",
        summary="Edit your profile and consent",
        description="Change `display_name`, `consent_training` (opt-in to let reviewed photos improve "
        "the model; withdrawing removes them from future training exports) and/or `language`. Other fields "
        "are read-only.",
        request=s.ProfileSerializer,
        responses={200: s.ProfileSerializer, **errors(400, 401, 415)},
    )
    def patch(self, request):
        data = s.ProfileSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = account_services.update_profile(request.user, **data.validated_data)
        return Response(s.ProfileSerializer(user).data)

    @extend_schema(
        operation_id="me_destroy",
        summary="Delete your account and all its data",
        description="Deletes the account, every scan and every stored photo, and revokes all refresh "
        "tokens. Requires the current password in the body. This cannot be undone.",
        request=s.DeleteAccountSerializer,
        responses={204: OpenApiResponse(description="Deleted."), **errors(400, 401, 415)},
        examples=[OpenApiExample("Confirm", value={"password": "your password"}, request_only=True)],
    )
    def delete(self, request):
        data = s.DeleteAccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delete_account_with_password(request.user, data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["account"])
class ExportView(ApiView):
    @extend_schema(
        operation_id="me_export",
        summary="Download all your data (zip)",
        description="A zip with `data.json` (account, every scan and result, the disclaimer) and every "
        "stored photo under `images/`.",
        responses={(200, "application/zip"): OpenApiTypes.BINARY, **errors(401)},
    )
    def get(self, request):
        archive = scan_services.build_data_export(request.user)
        response = HttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="facediag-export.zip"'
        response["Cache-Control"] = "private, no-store"
        return response
