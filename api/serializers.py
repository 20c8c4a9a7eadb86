"""Input validation and output shapes. No business logic: views pass validated data to services."""

import uuid

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from diagnosis import readouts
from diagnosis.models import CONDITIONS, NOTE_MAX_LENGTH, Condition, Label, PhotoView, Scan
from diagnosis.results import quality_messages, reason_text, verdict_words
from diagnosis.selectors import analysis_state, scan_photos
from ml.core.decision import LIKELY_PROBABILITY
from ml.core.lesions import GRADES
from review.models import ReviewLabel
from review.selectors import review_of

from .errors import not_found
from .services import rotate_refresh_token

DISCLAIMER_HELP = "Always shown with a result: FaceDiag is a screening aid, never a diagnosis."


def parse_scan_id(value: object) -> uuid.UUID:
    """A scan id from the URL; a malformed one is simply 'not found' (never a 500, never a hint)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise not_found(gettext("No such scan.")) from None


def _absolute(request, name, scan_id):
    path = reverse(name, kwargs={"scan_id": scan_id})
    return request.build_absolute_uri(path) if request is not None else path


def _per_condition(name: str, make_field) -> type[serializers.Serializer]:
    """A serializer with one field per Condition, so the schema follows the one list of conditions."""
    fields = {c.value: make_field("healthy skin" if c == Condition.HEALTHY else c.value) for c in Condition}
    return type(name, (serializers.Serializer,), {"__module__": __name__, **fields})


# --- auth and account -------------------------------------------------------------------------

class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="Your e-mail address: it is your login.")
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, min_length=8, max_length=128,
        help_text="At least 8 characters, not too common, not only digits, not like the e-mail.",
    )


REGISTERED_MESSAGE = gettext_lazy(
    "We have e-mailed this address. Open the link in the e-mail to confirm it, then get a token at "
    "/api/v1/auth/token/. If the address already had an account, the e-mail says so."
)


class RegisteredSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The address, normalised (lower case).")
    message = serializers.CharField(help_text="What happens next, safe to show to the user.")


class ProfileSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True, help_text="The login; it cannot be changed here.")
    display_name = serializers.CharField(
        max_length=100, allow_blank=True, required=False, help_text="How FaceDiag greets you (optional)."
    )
    consent_training = serializers.BooleanField(
        required=False,
        help_text="Opt-in: let reviewed photos improve the model. Withdrawing removes them from future "
        "training exports.",
    )
    consent_updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When `consent_training` last changed (`null`: never)."
    )
    language = serializers.ChoiceField(
        choices=[("", "")] + [code for code, _name in settings.LANGUAGES], required=False, allow_blank=True,
        help_text="The language of texts in API answers, pages and e-mails; empty: follow `Accept-Language`.",
    )
    date_joined = serializers.DateTimeField(read_only=True, help_text="When the account was created.")


class DeleteAccountSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, help_text="The account's current password.")


class TokenObtainSerializer(TokenObtainPairSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = "Your e-mail address."
        self.fields["password"].help_text = "Your password."


@extend_schema_serializer(component_name="TokenRefresh")
class SafeTokenRefreshSerializer(TokenRefreshSerializer):
    # Rotation with reuse detection (api.services); a token of a deleted account is a 401, not a 500.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refresh"].help_text = "Your current refresh token (each one works once)."

    def validate(self, attrs):
        return rotate_refresh_token(attrs["refresh"])


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived; send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Longer-lived; use once at /auth/token/refresh/, or log out with it.")


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke (blacklist).")


# --- scans ------------------------------------------------------------------------------------

class ScanCreateSerializer(serializers.Serializer):
    image = serializers.FileField(
        allow_empty_file=True,  # an empty file is rejected by the upload service with its own message
        help_text="The face photo (the front view): JPEG, PNG or WebP, at most SCAN_MAX_UPLOAD_BYTES (10 MB by "
        "default).",
    )
    image_left = serializers.FileField(
        required=False, allow_empty_file=True,
        help_text="Optional: a second photo of the same face, its left side; checked like `image`.",
    )
    image_right = serializers.FileField(
        required=False, allow_empty_file=True,
        help_text="Optional: a photo of the right side; checked like `image`. A scan holds at most these three "
        "photos, one per field; the result combines them.",
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="", help_text="Your own note (optional)."
    )


class ScanNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, allow_blank=True, help_text="Your own note on this scan.")


ProbabilitiesSerializer = _per_condition(
    "ProbabilitiesSerializer",
    lambda what: serializers.FloatField(min_value=0, max_value=1, help_text=f"Confidence for {what}, 0..1."),
)


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(" + "|".join(ReviewLabel.values) + ")$",
        "description": "The reviewer's label: " + ", ".join(f"`{x}`" for x in ReviewLabel.values) + ".",
    }
)
class ReviewLabelField(serializers.CharField):
    pass


class ReviewSerializer(serializers.Serializer):
    label = ReviewLabelField()  # type: ignore[assignment]  # a field named like Field.label
    reviewed_at = serializers.DateTimeField(source="created_at", help_text="When staff reviewed the scan.")
    lesion_grade = serializers.IntegerField(
        allow_null=True, min_value=0, max_value=3,
        help_text="The reviewer's acne grade, 0-3 as `lesions.grade` (`null`: not graded); it may correct the "
        "model's.",
    )


class LesionsSerializer(serializers.Serializer):
    """The acne spots the lesion readout found on one photo: an estimate, a screening aid."""

    count = serializers.IntegerField(min_value=0, help_text="How many spots were found (an estimate).")
    grade = serializers.IntegerField(
        allow_null=True, min_value=0, max_value=3,
        help_text="The Hayashi grade of the count: 0 mild (1-5 spots on the half face), 1 moderate (6-20), "
        "2 severe (21-50), 3 very severe (over 50: see a doctor); `null` without spots.",
    )
    grade_name = serializers.ChoiceField(
        choices=list(GRADES), allow_null=True, help_text="`grade` as a name: " + ", ".join(f"`{g}`" for g in GRADES)
        + "."
    )
    summary = serializers.CharField(
        help_text="The count in words to show the user, e.g. \"About 14 spots: moderate acne\" (the grade only for "
        "a photo read as acne)."
    )
    boxes = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=5, max_length=5),
        help_text="Each spot as `[x0, y0, x1, y1, score]`: a box in the stored photo's own pixels (after EXIF "
        "orientation; `image_url` serves that photo) and the model's score, 0..1.",
    )


class AnalysisStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["running", "paused"], help_text="`paused`: analysis cannot run now.")
    reason = serializers.CharField(
        allow_null=True,
        help_text="`model_unavailable` or `broker_unreachable` (paused); `slow` (running, but taking longer than "
        "usual).",
    )
    detail = serializers.CharField(help_text="What is happening, as a sentence to show the user.")


def _media_url(request, scan_id, kind, view):
    """The API URL of one file of one of the scan's photos."""
    path = reverse("api:scan-photo-media", kwargs={"scan_id": scan_id, "view": view, "kind": kind})
    return request.build_absolute_uri(path) if request is not None else path


class ScanPhotoSerializer(serializers.Serializer):
    """One photo of a scan and, once the scan is done, what that photo alone showed."""

    view = serializers.ChoiceField(choices=PhotoView.choices, help_text="Which side of the face: `front` is the "
                                   "photo sent as `image`, `left` as `image_left`, `right` as `image_right`.")
    image_url = serializers.SerializerMethodField(help_text="The stored photo (JPEG); send the bearer token.")
    thumbnail_url = serializers.SerializerMethodField(help_text="A small JPEG preview; send the bearer token.")
    heatmap_url = serializers.SerializerMethodField(
        help_text="Where the model looked on this photo (JPEG); only when both the photo and the scan got a class."
    )
    heatmap_box = serializers.SerializerMethodField(
        help_text="Where this photo's heatmap lies on it: `[x0, y0, x1, y1]` as fractions; `null` without one."
    )
    label = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="This photo's own result, `null` until the scan is done: a condition, `uncertain` or `no_skin`. "
        "The scan's `label` combines its photos (see `counted`)."
    )
    reason = serializers.SerializerMethodField(help_text="Why this photo's result is what it is (codes as the "
                                               "scan's `reason`); `null` until done.")
    reason_text = serializers.SerializerMethodField(help_text="`reason` as a sentence to show the user.")
    summary = serializers.SerializerMethodField(
        help_text="This photo's result in words to show the user (as the scan's `summary`); `null` until done."
    )
    probabilities = serializers.SerializerMethodField(
        help_text="Per condition, 0..1, when this photo got a condition; `null` otherwise."
    )
    quality = serializers.SerializerMethodField(help_text="This photo's quality flags (empty until done).")
    quality_warnings = serializers.SerializerMethodField(help_text="The flags as sentences to show the user.")
    counted = serializers.SerializerMethodField(
        help_text="Whether this photo counted towards the scan's result (it shows skin, in colour); `null` until "
        "done."
    )
    lesions = serializers.SerializerMethodField(
        help_text="The acne spots found on this photo (count, grade, boxes), once done; `null` when the model has "
        "no lesion readout or the photo was not judged."
    )
    readouts = serializers.SerializerMethodField(
        help_text="Every readout of this photo by name, as the data export has them (`heatmap`: as `heatmap_box`, "
        "`lesions`: as `lesions`, and any readout a newer model adds); a value is `null` without that readout."
    )

    def _url(self, photo, kind):
        if not getattr(photo.files, kind):
            return None
        return _media_url(self.context.get("request"), self.context["scan_id"], kind, photo.view)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, photo):
        return self._url(photo, "image")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, photo):
        return self._url(photo, "thumbnail")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_heatmap_url(self, photo):
        return self._url(photo, "heatmap")

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_heatmap_box(self, photo):
        return readouts.HEATMAP.api_value(photo)

    @extend_schema_field(serializers.ChoiceField(choices=Label.choices, allow_null=True))
    def get_label(self, photo):
        return photo.label or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason(self, photo):
        return photo.result.get("reason") or None if photo.result else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason_text(self, photo):
        return reason_text(photo.result.get("reason", "")) or None if photo.result else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_summary(self, photo):
        return verdict_words(photo.label, photo.top_probability) if photo.result else None

    @extend_schema_field(ProbabilitiesSerializer(allow_null=True))
    def get_probabilities(self, photo):
        if not photo.has_class:
            return None
        return {c: float(photo.result["probabilities"].get(c, 0.0)) for c in CONDITIONS}

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_quality(self, photo):
        return {str(k): bool(v) for k, v in ((photo.result or {}).get("quality") or {}).items()}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_quality_warnings(self, photo):
        return quality_messages((photo.result or {}).get("quality"))

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_counted(self, photo):
        return photo.counted

    @extend_schema_field(LesionsSerializer(allow_null=True))
    def get_lesions(self, photo):
        return readouts.LESIONS.api_value(photo)

    @extend_schema_field(serializers.DictField(child=serializers.JSONField(allow_null=True)))
    def get_readouts(self, photo):
        return readouts.api_values(photo)


class ScanAcceptedSerializer(serializers.Serializer):
    """The 202 answer to an upload: poll `url` until `status` is `done` or `failed`."""

    id = serializers.UUIDField(help_text="The scan's id.")
    status = serializers.ChoiceField(
        choices=Scan.Status.choices,
        help_text="`queued` and `analysing`: keep polling; `done`: the result is here; `failed`: see `error`.",
    )
    created_at = serializers.DateTimeField(help_text="When the photo was uploaded.")
    url = serializers.SerializerMethodField(help_text="Poll this URL (GET) for the result.")
    disclaimer = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, scan):
        return _absolute(self.context.get("request"), "api:scan-detail", scan.id)

    @extend_schema_field(serializers.CharField(help_text=DISCLAIMER_HELP))
    def get_disclaimer(self, scan):
        return gettext(settings.DISCLAIMER)


class ScanSerializer(ScanAcceptedSerializer):
    """A scan and, once `status` is `done`, its result."""

    updated_at = serializers.DateTimeField(help_text="When the scan last changed.")
    completed_at = serializers.DateTimeField(allow_null=True, help_text="When analysis finished (`null` before).")
    note = serializers.CharField(help_text="Your own note.")
    label = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="`null` until done. One of the four conditions, `uncertain` (no class is confident enough) "
        "or `no_skin` (no skin found in the photo)."
    )
    probabilities = serializers.SerializerMethodField(
        help_text="Per condition, 0..1, once done with a condition; `null` before, and for `uncertain` or `no_skin`."
    )
    quality = serializers.SerializerMethodField(
        help_text="Photo-quality flags found during analysis, e.g. `blurry`, `too_dark`, `no_face`."
    )
    quality_warnings = serializers.SerializerMethodField(help_text="The flags as sentences to show the user.")
    model_version = serializers.SerializerMethodField(help_text="The classifier version that produced the result.")
    error = serializers.SerializerMethodField(help_text="Why analysis failed (`status` `failed`), else `null`.")
    can_retry = serializers.SerializerMethodField(help_text="True when `POST .../retry/` would queue it again.")
    image_url = serializers.SerializerMethodField(help_text="The stored photo (JPEG); send the bearer token.")
    thumbnail_url = serializers.SerializerMethodField(help_text="A small JPEG preview; send the bearer token.")
    heatmap_url = serializers.SerializerMethodField(
        help_text="Where the model looked (JPEG), once done; send the bearer token."
    )
    heatmap_box = serializers.SerializerMethodField(
        help_text="Where the heatmap lies on the photo, to draw it as an overlay: `[x0, y0, x1, y1]` as fractions "
        "of the photo's width and height; `null` without a heatmap."
    )
    review = serializers.SerializerMethodField(help_text="The staff review, if the scan was reviewed.")
    reason = serializers.SerializerMethodField(
        help_text="Once done, why the result is what it is: `confident`, `low_confidence`, `no_colour` (a colour "
        "photo is needed), `not_skin` (not a face or skin), `no_skin_pixels`, `little_skin`, `flat_image`, "
        "`pixel_noise`, `too_small` (a face too small to judge: retake closer), `blurry` / `too_dark` (too blurred "
        "or too dark to show lesions: retake steadier / in better light), `no_face` (read as healthy, but no face was "
        "found, so the photo cannot show the skin is clear: retake the whole face), `unfamiliar_skin` (looks like "
        "skin, but unlike the photos the model learned from), `photos_disagree` (a scan's photos look like "
        "different conditions), `lesions_found` (called acne: healthy-looking overall, but many acne lesions "
        "counted); `null` before."
    )
    reason_text = serializers.SerializerMethodField(help_text="`reason` as a sentence to show the user.")
    summary = serializers.SerializerMethodField(
        help_text="Once done, the result in words to show the user, in the request's language: \"Likely acne\" or "
        f"\"Looks healthy\" when the calibrated top probability is at least {LIKELY_PROBABILITY:.0%}, \"Possibly "
        "acne\" / \"Possibly healthy\" below it, \"Can't tell from this photo\" or \"No skin found in this "
        "photo\" without a class; `null` before."
    )
    photos = serializers.SerializerMethodField(
        help_text="The scan's photos, front first (one for a one-photo scan), each with its own result once "
        "done and whether it counted. The scan's `label` and `probabilities` combine them: the mean of the "
        "counted photos' probabilities; `uncertain` (`photos_disagree`) when photos are confident of different "
        "conditions; `no_skin` only when no photo shows skin. The top-level `image_url`, `thumbnail_url`, "
        "`heatmap_url` and `heatmap_box` are the front photo's."
    )
    lesions = serializers.SerializerMethodField(
        help_text="Once done, the acne spots found on the front photo (count, Hayashi grade, boxes in its "
        "pixels): an estimate, a screening aid; `null` when the model has no lesion readout or the photo was not "
        "judged. Each photo's own are in `photos`."
    )
    analysis = serializers.SerializerMethodField(
        help_text="While `queued` or `analysing`: `{state, reason, detail}` with `state` `running` (`reason` "
        "`slow` once it takes longer than usual), or `paused` "
        "(`reason` `model_unavailable` or `broker_unreachable`) when analysis cannot run now; the photo is kept "
        "and analysed automatically once it can. `null` once the scan is finished."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason(self, scan):
        return scan.reason or None if scan.status == Scan.Status.DONE else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason_text(self, scan):
        return scan.reason_text or None if scan.status == Scan.Status.DONE else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_summary(self, scan):
        return verdict_words(scan.label, scan.top_probability) if scan.status == Scan.Status.DONE else None

    @extend_schema_field(ScanPhotoSerializer(many=True))
    def get_photos(self, scan):
        context = {"request": self.context.get("request"), "scan_id": scan.id}
        return ScanPhotoSerializer(scan_photos(scan), many=True, context=context).data

    def _first_photo(self, scan):
        return next(iter(scan_photos(scan)), None)

    @extend_schema_field(LesionsSerializer(allow_null=True))
    def get_lesions(self, scan):
        first = self._first_photo(scan)  # the first (front) photo's, like `heatmap_box`
        return readouts.LESIONS.api_value(first) if first else None

    @extend_schema_field(AnalysisStateSerializer(allow_null=True))
    def get_analysis(self, scan):
        return analysis_state(scan)

    @extend_schema_field(serializers.ChoiceField(choices=Label.choices, allow_null=True))
    def get_label(self, scan):
        return scan.label if scan.status == Scan.Status.DONE and scan.label else None

    @extend_schema_field(ProbabilitiesSerializer(allow_null=True))
    def get_probabilities(self, scan):
        if scan.status != Scan.Status.DONE or scan.label not in CONDITIONS:
            return None  # "uncertain" and "no_skin" show no percentages: `reason_text` says why and what to do
        return {c: float(scan.probabilities.get(c, 0.0)) for c in CONDITIONS}

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_quality(self, scan):
        return {str(k): bool(v) for k, v in (scan.quality or {}).items()}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_quality_warnings(self, scan):
        return list(scan.quality_warnings)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_model_version(self, scan):
        return scan.model_version.name if scan.model_version_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, scan):
        if scan.status != Scan.Status.FAILED:
            return None
        return scan.error_text or None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_can_retry(self, scan):
        return scan.status == Scan.Status.FAILED and scan.image_deleted_at is None and bool(scan.first_photo)

    def _media(self, scan, kind):
        """The scan's own media URLs: those of its first photo (the front one)."""
        first = scan.first_photo
        if first is None or not getattr(first, kind):
            return None
        return _absolute(self.context.get("request"), f"api:scan-{kind}", scan.id)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, scan):
        return self._media(scan, "image")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, scan):
        return self._media(scan, "thumbnail")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_heatmap_url(self, scan):
        return self._media(scan, "heatmap")

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_heatmap_box(self, scan):
        first = self._first_photo(scan)
        return readouts.HEATMAP.api_value(first) if first else None

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, scan):
        review = review_of(scan)
        return ReviewSerializer(review).data if review is not None else None


# --- history ----------------------------------------------------------------------------------

class DateRangeSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="Only scans from this day on (YYYY-MM-DD).")
    date_to = serializers.DateField(required=False, help_text="Only scans up to and including this day.")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [gettext("date_to must not be before date_from.")]})
        return attrs


class PointSerializer(serializers.Serializer):
    scan_id = serializers.UUIDField(help_text="The scan.")
    created_at = serializers.DateTimeField(help_text="When the scan was taken.")
    label = serializers.ChoiceField(choices=Label.choices, help_text="The scan's result.")  # type: ignore[assignment]
    probabilities = ProbabilitiesSerializer(help_text="Per condition, 0..1.")


class SeriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="When the scan was taken.")
    y = serializers.FloatField(help_text="The model's confidence for this class, 0..1.")


SeriesSerializer = _per_condition(
    "SeriesSerializer",
    lambda what: SeriesPointSerializer(many=True, help_text=f"Confidence for {what} over time."),
)


class LesionPointSerializer(serializers.Serializer):
    scan_id = serializers.UUIDField(help_text="The scan.")
    created_at = serializers.DateTimeField(help_text="When the scan was taken.")
    label = serializers.ChoiceField(choices=Label.choices, help_text="The scan's result.")  # type: ignore[assignment]
    count = serializers.IntegerField(help_text="The spots found on the scan's front photo (an estimate).")
    grade = serializers.IntegerField(allow_null=True, help_text="Its acne grade, 0-3 (`null` without spots).")
    grade_name = serializers.CharField(help_text="The grade in the reader's language; empty unless the scan "
                                       "was read as acne.")


class HistorySummarySerializer(serializers.Serializer):
    classes = serializers.ListField(
        child=serializers.ChoiceField(choices=CONDITIONS), help_text="The conditions the model knows."
    )
    points = PointSerializer(many=True, help_text="Every finished scan, oldest first.")
    series = SeriesSerializer(help_text="Per class, the confidence over time (oldest first), ready to chart.")
    lesions = LesionPointSerializer(
        many=True, help_text="The spots counted on each of these scans that has lesion findings, oldest first: "
        "\"Am I improving?\" in spots. Chart it against `created_at` (real time)."
    )
    disclaimer = serializers.CharField(help_text=DISCLAIMER_HELP)
