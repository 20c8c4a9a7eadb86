import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Condition(models.TextChoices):
    """The four conditions the classifier knows: the one list that every other label set is built from.

    ml.core.CLASSES holds the same values as plain strings (ml.core has no Django); a test checks they agree.
    """

    ACNE = "acne", _("Acne")
    ECZEMA = "eczema", _("Eczema")
    HEALTHY = "healthy", _("Healthy")
    ROSACEA = "rosacea", _("Rosacea")


CONDITIONS: tuple[str, ...] = tuple(Condition.values)


def with_conditions(name: str, module: str, *extra: tuple[str, str, Any]) -> Any:
    """A TextChoices class with every Condition, then ``extra`` members given as (NAME, value, label)."""
    members = [(c.name, (c.value, c.label)) for c in Condition] + [(n, (v, label)) for n, v, label in extra]
    return models.TextChoices(name, members, module=module)  # type: ignore[call-overload]  # Enum's functional API


# The model's answer: a condition, or no verdict.
Label = with_conditions(
    "Label", __name__, ("UNCERTAIN", "uncertain", _("Uncertain")), ("NO_SKIN", "no_skin", _("No skin found"))
)


#: Staff who may review scans and see their photos (the review app's reviewer group has it).
REVIEW_PERMISSION = "diagnosis.review_scan"


def scan_image_path(scan, filename):
    # Random, meaningless names: nothing about the person or the original file leaks.
    return f"scans/{uuid.uuid4().hex}.jpg"


def scan_thumbnail_path(scan, filename):
    return f"thumbs/{uuid.uuid4().hex}.jpg"


def scan_heatmap_path(scan, filename):
    return f"heatmaps/{uuid.uuid4().hex}.jpg"


class PhotoView(models.TextChoices):
    """Which side of the face a scan's photo shows; a scan holds at most one of each, front first."""

    FRONT = "front", _("Front")
    LEFT = "left", _("Left side")
    RIGHT = "right", _("Right side")


#: The order a scan's photos are stored, analysed and shown in. The front photo is the scan's own.
PHOTO_VIEWS: tuple[str, ...] = tuple(PhotoView.values)
EXTRA_VIEWS: tuple[str, ...] = PHOTO_VIEWS[1:]
MAX_PHOTOS_PER_SCAN = len(PHOTO_VIEWS)
#: The owner's note on a scan, in characters: the model field, the forms, the API and the upload intake.
NOTE_MAX_LENGTH = 2000
#: An upload's Idempotency-Key (header or form field), in characters, after stripping spaces; longer is refused.
IDEMPOTENCY_KEY_MAX_LENGTH = 100


def photo_field(view: str) -> str:
    """The upload field of a view's photo, in the web form and the API alike: image, image_left, image_right."""
    return "image" if view == PhotoView.FRONT else f"image_{view}"


class Scan(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        ANALYSING = "analysing", _("Analysing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    label = models.CharField(max_length=12, choices=Label.choices, blank=True, db_index=True)
    probabilities = models.JSONField(default=dict, blank=True)
    top_probability = models.FloatField(null=True, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    model_version = models.ForeignKey(
        "ml.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="scans"
    )
    error = models.TextField(blank=True)
    # Why the result is what it is (ml.core.decision.REASONS), e.g. "no_colour" for an uncertain result.
    reason = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True, max_length=NOTE_MAX_LENGTH)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=255, blank=True)  # Celery task id of the claimant
    # The analysis message could not be published (broker down): the sweeper publishes it once it can.
    publish_failed = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True)
    image_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # Declared here because it guards scans (and their photos); the review app grants it to reviewers.
        permissions = [(REVIEW_PERMISSION.split(".")[1], "Can review scans and see their images")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_scan_idempotency_key_per_owner",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            # Backpressure counts the scans finished in the last seconds (diagnosis.backpressure).
            models.Index(fields=["completed_at"], name="diagnosis_scan_completed_idx"),
        ]

    def __str__(self):
        return f"Scan {self.id} ({self.status})"

    @property
    def reason_text(self):
        """``reason`` in the reader's language (ml.core has the English words; it must not import Django)."""
        from .results import reason_text

        return reason_text(self.reason)

    @property
    def error_text(self):
        """``error`` (stored in English by the worker, outside any request) in the reader's language."""
        from .results import stored_error_text

        return stored_error_text(self.error)

    @property
    def quality_warnings(self):
        return [QUALITY_MESSAGES[k] for k, v in sorted(self.quality.items()) if v and k in QUALITY_MESSAGES]

    @property
    def first_photo(self) -> "ScanPhoto | None":
        """The photo that stands for the scan in lists, the compare page and the report: the first in
        PHOTO_VIEWS order (the front one). Uses the prefetched photos where a list fetched them."""
        return next(iter(self.photos.all()), None)


class ScanPhoto(models.Model):
    """One photo of a scan (front, left or right side), its files and, once the scan is done, its own result.
    Every photo is one of these, the front one too; the scan keeps the result that combines them."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="photos")
    view = models.CharField(max_length=8, choices=PhotoView.choices)
    position = models.PositiveSmallIntegerField(default=0)  # the view's place in PHOTO_VIEWS: the order shown
    image = models.ImageField(upload_to=scan_image_path, blank=True)
    thumbnail = models.ImageField(upload_to=scan_thumbnail_path, blank=True)
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    # The photo's own result ("" / {} / null until the scan is done): label and reason as on Scan, and whether
    # it counted towards the scan's combined result (ml.core.combine).
    label = models.CharField(max_length=12, choices=Label.choices, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    probabilities = models.JSONField(default=dict, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    counted = models.BooleanField(null=True, blank=True)
    # Its readouts (diagnosis.readouts): the heatmap, where it sits on the photo ([x0, y0, x1, y1] as fractions
    # of its width and height), and the lesion findings (ml.core.lesions.LesionFindings.to_json(): count,
    # grade, boxes in the stored photo's pixels; null when the model has no lesion head or did not judge it).
    heatmap = models.ImageField(upload_to=scan_heatmap_path, blank=True)
    heatmap_box = models.JSONField(default=list, blank=True)
    lesions = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["scan", "view"], name="unique_scan_photo_view")]

    def __str__(self):
        return f"{self.view} photo of scan {self.scan_id}"

    @property
    def has_result(self) -> bool:
        return bool(self.label)


QUALITY_MESSAGES = {
    "no_face": _("No face was found; the whole photo was analysed."),
    "blurry": _("The photo looks blurry. A sharper photo gives a more reliable result."),
    "too_dark": _("The photo is too dark. Try again in daylight or good indoor light."),
    "too_bright": _("The photo is overexposed. Avoid direct flash or strong sunlight."),
    "too_small": _("The photo (or the face in it) is small. Move closer or use a higher resolution."),
    "no_colour": _("The photo is black and white. A colour photo is needed to judge redness and skin tone."),
}

#: Each quality flag in two or three words (reviewers' chips and filters).
QUALITY_FLAG_NAMES = {
    "no_face": _("no face"), "blurry": _("blurry"), "too_dark": _("too dark"), "too_bright": _("too bright"),
    "too_small": _("too small"), "no_colour": _("black and white"),
}


def quality_flag_name(flag: str) -> str:
    """A flag's short name in the reader's language; one this version does not know yet, readable."""
    return str(QUALITY_FLAG_NAMES.get(flag, flag.replace("_", " ")))
