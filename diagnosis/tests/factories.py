"""Test data for scans: the one place tests make them. Two ways, for two needs:

- ``ScanFactory`` / ``finished_scan``: a row in the wanted state, written directly (no model, no worker);
- ``make_scan``: a scan that went through the real upload service, then moved to the wanted state.
"""

import itertools
from datetime import timedelta

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.tests.factories import UserFactory
from diagnosis import services
from diagnosis.models import CONDITIONS, Label, Scan, ScanPhoto
from diagnosis.services import analysis
from ml.core.inference import Prediction
from ml.core.lesions import LesionFindings, grade_of
from tests.support import face_like_jpeg

PROBABILITIES = {"acne": 0.81, "eczema": 0.09, "healthy": 0.06, "rosacea": 0.04}
_seq = itertools.count()
#: What ScanFactory passes on to the scan's front photo (a ScanPhoto row) rather than to the scan.
PHOTO_FIELDS = ("image", "thumbnail", "heatmap", "heatmap_box", "lesions", "image_width", "image_height")


def give_photo_the_scan_result(photo, scan):
    """A one-photo scan's photo result, as the worker writes it: the scan's own (``ml.core.combine`` of one)."""
    ScanPhoto.objects.filter(pk=photo.pk).update(
        label=scan.label, reason=scan.reason, probabilities=dict(scan.probabilities or {}),
        quality=dict(scan.quality or {}), counted=scan.label != Label.NO_SKIN and scan.reason != "no_colour")


class ScanFactory(factory.django.DjangoModelFactory):
    """A scan row with its front photo (``image``, ``thumbnail``, ``heatmap``, ... go to that ScanPhoto)."""

    class Meta:
        model = Scan

    owner = factory.SubFactory(UserFactory)
    image = factory.LazyFunction(lambda: ContentFile(face_like_jpeg(), name="x.jpg"))
    thumbnail = factory.LazyFunction(lambda: ContentFile(face_like_jpeg((64, 64)), name="t.jpg"))
    status = Scan.Status.DONE
    label = "acne"
    probabilities = factory.LazyFunction(lambda: {"acne": 0.7, "eczema": 0.1, "healthy": 0.15, "rosacea": 0.05})
    top_probability = 0.7
    quality = factory.LazyFunction(lambda: {"no_face": False, "blurry": False})

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        photo_fields = {name: kwargs.pop(name) for name in PHOTO_FIELDS if name in kwargs}
        scan = super()._create(model_class, *args, **kwargs)
        photo = ScanPhoto.objects.create(scan=scan, view="front", position=0, **photo_fields)
        if scan.status == Scan.Status.DONE and scan.label:
            give_photo_the_scan_result(photo, scan)
        return scan


def finished_scan(owner, *, label="acne", top=0.9, quality=None, model_version=None, age_hours=0,
                  status=Scan.Status.DONE, image=True):
    """A finished scan (as the review queue sees them) with a stored photo, thumbnail and heatmap, ``top``
    confidence for ``label`` and the rest shared out, created ``age_hours`` ago."""
    probs = {c: round((1 - top) / 3, 4) for c in CONDITIONS}
    if label in CONDITIONS:
        probs[label] = top
    files = {"image": "", "thumbnail": ""}
    if image:
        data = face_like_jpeg(size=(96, 96), seed=next(_seq))
        files = {name: ContentFile(data, name="x.jpg") for name in ("image", "thumbnail", "heatmap")}
    scan = ScanFactory(owner=owner, status=status, label=label if status == Scan.Status.DONE else "",
                       probabilities=probs, top_probability=top, quality=quality or {}, model_version=model_version,
                       completed_at=timezone.now(), **files)
    created = timezone.now() - timedelta(hours=age_hours)
    Scan.objects.filter(pk=scan.pk).update(created_at=created)
    scan.created_at = created
    return scan


def photos_read_as(tiny_dataset, label, count=1):
    """``count`` photos of the tiny model's training set that it reads as ``label`` with confidence, each judged
    as the upload service will store it (re-encoded JPEG): which of the generated photos those are depends on
    the trained head (and on the CPU that trained it), so tests pick them rather than assume them.
    ``label="no_skin"``: photos from the tiny model's non-skin negatives that it refuses, for any reason."""
    from django.conf import settings

    from diagnosis.imaging import clean_upload
    from ml.runtime import get_predictor

    predictor = get_predictor()
    data_dir, negatives_dir = tiny_dataset
    candidates = negatives_dir if label == "no_skin" else data_dir / label
    found = []
    for path in sorted(candidates.glob("*.jpg")):
        data = path.read_bytes()
        stored = clean_upload(data, max_bytes=settings.SCAN_MAX_UPLOAD_BYTES, max_pixels=settings.SCAN_MAX_PIXELS,
                              min_side=settings.SCAN_MIN_SIDE, stored_max_side=settings.SCAN_STORED_MAX_SIDE).jpeg
        prediction = predictor.predict(stored)
        if prediction.label == label and (label == "no_skin" or prediction.reason == "confident"):
            found.append(data)
            if len(found) == count:
                return found
    raise AssertionError(f"the tiny model reads only {len(found)} of its {label} photos as {label}, not {count}")


def jpeg_upload(data=None, name="face.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, face_like_jpeg() if data is None else data, content_type=content_type)


def make_scan(owner, *, status=Scan.Status.QUEUED, label="", probabilities=None, heatmap=False, model_version=None,
              note="", error="", photo=None):
    """A scan created through the real upload service (of ``photo``, default a face-like JPEG), then moved
    to the wanted state."""
    scan, _ = services.create_scan(owner=owner, uploaded_file=jpeg_upload(photo), note=note)
    scan.status = status
    if status == Scan.Status.DONE:
        scan.label = label or "acne"
        scan.probabilities = probabilities or dict(PROBABILITIES)
        scan.top_probability = max(scan.probabilities.values())
        scan.quality = {"blurry": True, "too_dark": False}
        scan.model_version = model_version
        scan.completed_at = timezone.now()
    if status == Scan.Status.FAILED:
        scan.error = error or "The photo could not be analysed (ValueError). Try another photo."
        scan.completed_at = timezone.now()
    scan.save()
    photo = scan.photos.get()
    if heatmap:
        photo.heatmap.save("heat.jpg", ContentFile(face_like_jpeg(size=(224, 224), seed=3)), save=False)
        photo.heatmap_box = [0.25, 0.1, 0.75, 0.6]
        photo.save()
    if status == Scan.Status.DONE:
        give_photo_the_scan_result(photo, scan)
    return scan


def make_multi_photo_scan(owner, *, views=("left", "right"), status=Scan.Status.QUEUED, label="acne",
                          photo_labels=None, idempotency_key=""):
    """A scan of a front photo and the photos of ``views``, through the real upload service (a different
    face-like JPEG each), then moved to ``status``. Done: the scan says ``label`` and each photo its entry of
    ``photo_labels`` (default all ``label``), with photo results as the worker writes them."""
    extras = {view: jpeg_upload(face_like_jpeg(seed=10 + i)) for i, view in enumerate(views)}
    scan, _ = services.create_scan(owner=owner, uploaded_file=jpeg_upload(), extra_photos=extras,
                                   idempotency_key=idempotency_key)
    if status == Scan.Status.DONE:
        labels = photo_labels or [label] * (1 + len(views))
        for view, photo_label in zip(("front", *views), labels, strict=True):
            probabilities = {c: 0.1 for c in CONDITIONS}
            probabilities[photo_label if photo_label in CONDITIONS else "healthy"] = 0.7
            scan.photos.filter(view=view).update(
                label=photo_label, reason="not_skin" if photo_label == "no_skin"
                else "confident" if photo_label in CONDITIONS else "low_confidence",
                probabilities=probabilities, quality={"blurry": False}, counted=photo_label != "no_skin")
        scan.status, scan.label = status, label
        scan.probabilities = dict(PROBABILITIES)
        scan.top_probability = max(PROBABILITIES.values())
        scan.completed_at = timezone.now()
        scan.save()
    elif status != Scan.Status.QUEUED:
        scan.status = status
        scan.save()
    return scan


# --- lesion findings, stored the worker's way ---------------------------------------------------------

def findings(count, *, size=12.0, left=10.0, top=20.0):
    """``count`` boxes in a row, in the photo's pixels, with the grade the lesion model gives that count."""
    boxes = tuple((left + i * (size + 2), top, left + i * (size + 2) + size, top + size, 0.9) for i in range(count))
    return LesionFindings(count=count, grade=grade_of(count), boxes=boxes)


def prediction(label="acne", lesions=None, top=0.8):
    probabilities = {c: (1 - top) / 3 for c in CONDITIONS}
    if label in CONDITIONS:
        probabilities[label] = top
    return Prediction(label=label, probabilities=probabilities, quality={"blurry": False}, model_version="none",
                      top_probability=top, reason="confident" if label in CONDITIONS else "low_confidence",
                      heatmap_jpeg=face_like_jpeg(size=(32, 32)), details={"crop_box": [0.1, 0.1, 0.9, 0.9]},
                      lesions=lesions)


def analysed(scan, *predictions):
    """The scan's result stored by the worker's own mapping, as if the model had returned ``predictions``."""
    token = analysis.claim_scan(scan.id, "task-lesions")
    assert analysis.store_result(scan, token, list(predictions)) == "done"
    scan.refresh_from_db()
    return scan


def acne_scan(owner, count, *, days_ago=0):
    scan = analysed(make_scan(owner), prediction("acne", findings(count)))
    if days_ago:
        moment = timezone.now() - timedelta(days=days_ago)
        Scan.objects.filter(pk=scan.pk).update(created_at=moment)
        scan.created_at = moment
    return scan
