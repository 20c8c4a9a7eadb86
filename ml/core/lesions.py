"""Acne lesions: what the lesion readout finds on one photo, and the Hayashi grade of a count.

Pure data (no TensorFlow, no Django): the lesion model (``lesion_model.py``) produces a ``LesionFindings`` per
judged photo; the product stores, shows and exports it; ``predict_image --json`` prints ``to_json()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Hayashi's severity grades (ACNE04's 0-3) by the number of lesions on the half face shown:
#: mild 1-5, moderate 6-20, severe 21-50, very severe over 50.
GRADES = ("mild", "moderate", "severe", "very severe")
#: The upper count of grades 0, 1 and 2 (a count above the last is grade 3).
HAYASHI_UPPER = (5, 20, 50)


def grade_of(count: int, upper: tuple[int, ...] = HAYASHI_UPPER) -> int | None:
    """The Hayashi grade (0-3) of a lesion count, None for no lesions (no acne to grade)."""
    if count <= 0:
        return None
    for grade, limit in enumerate(upper):
        if count <= limit:
            return grade
    return len(upper)


@dataclass(frozen=True)
class LesionFindings:
    """The lesions found on one photo. ``boxes``: (x0, y0, x1, y1, score) in the photo's own pixels after EXIF
    orientation; ``count`` is the estimate shown (the number of boxes); ``grade`` 0-3 (``GRADES``) or None."""

    count: int
    grade: int | None
    boxes: tuple[tuple[float, float, float, float, float], ...] = field(default_factory=tuple)

    @property
    def grade_name(self) -> str | None:
        return None if self.grade is None else GRADES[self.grade]

    def to_json(self) -> dict:
        return {
            "count": int(self.count),
            "grade": None if self.grade is None else int(self.grade),
            "boxes": [[round(float(v), 1) for v in box[:4]] + [round(float(box[4]), 3)] for box in self.boxes],
        }

    @classmethod
    def from_json(cls, data: dict | None) -> LesionFindings | None:
        if not data:
            return None
        boxes = tuple(tuple(float(v) for v in box) for box in data.get("boxes") or ())
        grade = data.get("grade")
        return cls(count=int(data.get("count", len(boxes))), grade=None if grade is None else int(grade), boxes=boxes)
