"""The lesion readout: the acne spots the model found on a photo, their count and Hayashi grade.

Stored per photo as ``LesionFindings.to_json()`` (``ml.core.lesions``: count, grade 0-3 or null, boxes in
the stored photo's pixels) in ``ScanPhoto.lesions``. Shown as an
estimate, in plain words ("About 14 spots: moderate acne"); a very severe grade says to see a doctor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ml.core.lesions import GRADES, LesionFindings

from ..models import CONDITIONS, Label
from .base import Readout
from .heatmap import crop_box

if TYPE_CHECKING:
    from ml.core.inference import Prediction

    from ..models import Scan, ScanPhoto
    from ..selectors import PhotoOfScan

#: Each Hayashi grade (``ml.core.lesions.GRADES``, 0-3) in the reader's language.
GRADE_NAMES = (
    pgettext_lazy("acne grade", "mild"),
    pgettext_lazy("acne grade", "moderate"),
    pgettext_lazy("acne grade", "severe"),
    pgettext_lazy("acne grade", "very severe"),
)
assert len(GRADE_NAMES) == len(GRADES)
VERY_SEVERE = len(GRADES) - 1

ESTIMATE = _("The count is an estimate by the model on this photo, not a diagnosis: light, angle, make-up and "
             "a blurry photo change it. Compare scans taken the same way, in the same light.")
SEE_A_DOCTOR = _("Very severe acne needs a doctor: see a GP or a dermatologist soon. Prescription treatment "
                 "works and can prevent scarring.")


def findings(files: ScanPhoto | None) -> LesionFindings | None:
    """The photo's stored lesion findings, None without (no photo, no lesion head, not judged, older scans)."""
    if files is None:
        return None
    try:
        return LesionFindings.from_json(files.lesions)
    except (TypeError, ValueError, AttributeError):
        return None  # a malformed row must not break a page


def grade_name(grade: int | None) -> str:
    return str(GRADE_NAMES[grade]) if grade is not None and 0 <= grade < len(GRADE_NAMES) else ""


def spots(count: int) -> str:
    """ "14 spots", "1 spot"."""
    return ngettext("%(count)d spot", "%(count)d spots", count) % {"count": count}


def summary_text(found: LesionFindings, label: str | None = Label.ACNE) -> str:
    """The count and the grade in plain words: "About 14 spots: moderate acne". The grade is named only
    for a photo read as acne (a healthy face with 2 spots has no acne to grade)."""
    if found.count <= 0:
        return gettext("No clear spots were counted on this photo.")
    if label == Label.ACNE and found.grade is not None:
        return ngettext("About %(count)d spot: %(grade)s acne", "About %(count)d spots: %(grade)s acne",
                        found.count) % {"count": found.count, "grade": grade_name(found.grade)}
    return ngettext("About %(count)d spot counted", "About %(count)d spots counted", found.count) % {
        "count": found.count}


@dataclass(frozen=True)
class LesionBox:
    """One spot as the page draws it, in the photo's own pixels (the SVG's viewBox is the photo)."""

    x: float
    y: float
    width: float
    height: float
    score: float


@dataclass(frozen=True)
class LesionView:
    """What pages, the PDF and the review page show of one photo's lesions."""

    count: int
    grade: int | None
    grade_name: str
    summary: str
    estimate: str
    see_a_doctor: str  # "" unless the grade is very severe
    photo_width: int
    photo_height: int
    boxes: list[LesionBox] = field(default_factory=list)
    crop: LesionBox | None = None  # the face crop the model analysed, in the photo's pixels (score 1)

    @property
    def very_severe(self) -> bool:
        return self.grade == VERY_SEVERE

    @property
    def view_box(self) -> str:
        return f"0 0 {self.photo_width} {self.photo_height}"


def lesion_view(files: ScanPhoto | None, label: str | None, *, any_label: bool = False) -> LesionView | None:
    """The photo's lesions for a page, when it was read as acne (or ``any_label``: reviewers see what was
    counted whatever the label) and has findings; None otherwise."""
    found = findings(files)
    if files is None or found is None or (label != Label.ACNE and not any_label):
        return None
    width, height = max(int(files.image_width or 0), 1), max(int(files.image_height or 0), 1)
    boxes = [LesionBox(x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0), score)
             for x0, y0, x1, y1, score in (tuple(b[:5]) + (1.0,) * (5 - len(b)) for b in found.boxes)]
    fractions = crop_box(files)
    crop = None if fractions is None else LesionBox(fractions[0] * width, fractions[1] * height,
                                                    (fractions[2] - fractions[0]) * width,
                                                    (fractions[3] - fractions[1]) * height, 1.0)
    return LesionView(
        count=found.count, grade=found.grade, grade_name=grade_name(found.grade),
        summary=summary_text(found, label), estimate=str(ESTIMATE),
        see_a_doctor=str(SEE_A_DOCTOR) if found.grade == VERY_SEVERE else "",
        photo_width=width, photo_height=height, boxes=boxes, crop=crop,
    )


def change_text(before: Scan, after: Scan) -> str:
    """The change in spots between two scans (their first photos), "14 → 6 spots in 26 days"; "" unless
    both have findings and a class."""
    old, new = findings(before.first_photo), findings(after.first_photo)
    if old is None or new is None or before.label not in CONDITIONS or after.label not in CONDITIONS:
        return ""
    days = max((after.created_at - before.created_at).days, 0)
    span = (ngettext("in %(days)d day", "in %(days)d days", days) % {"days": days}) if days else gettext(
        "on the same day")
    return gettext("%(old)d → %(new)s %(span)s") % {"old": old.count, "new": spots(new.count), "span": span}


def series_points(rows: list[tuple[Any, datetime, str, Any, Any]]) -> list[dict[str, Any]]:
    """The history chart's points, oldest first, from (scan id, created_at, label, stored count, stored grade)
    rows of scans with lesion findings."""
    points = []
    for scan_id, created_at, label, count, grade in rows:
        try:
            count, grade = int(count), None if grade is None else int(grade)
        except (TypeError, ValueError):
            continue  # a malformed row is left out, never a broken chart
        points.append({"scan_id": str(scan_id), "created_at": created_at.isoformat(), "label": label,
                       "count": count, "grade": grade,
                       "grade_name": grade_name(grade) if label == Label.ACNE else ""})
    return points


class LesionsReadout(Readout):
    name = "lesions"

    def row_fields(self, prediction: Prediction, saved: dict[str, Any]) -> dict[str, Any]:
        found = getattr(prediction, "lesions", None)
        return {"lesions": found.to_json() if found is not None else None}

    def api_value(self, photo: PhotoOfScan) -> Any:
        """``{count, grade, grade_name, summary, boxes}`` once the photo was judged with a lesion model; the
        contract's fields (``ml.core.lesions``) plus the grade's name and the sentence the pages show."""
        if photo.result is None:
            return None
        found = findings(photo.files)
        if found is None:
            return None
        data = found.to_json()
        data["grade_name"] = GRADES[found.grade] if found.grade is not None else None
        data["summary"] = summary_text(found, photo.label)
        return data

    def summary(self, photo: PhotoOfScan) -> str:
        """"About 14 spots: moderate acne" for a photo read as acne with findings, else ""."""
        spots = lesion_view(photo.files, photo.label) if photo.result is not None else None
        return spots.summary if spots else ""


LESIONS = LesionsReadout()
