"""Lining up two photos of the same face (issue 32): the similarity transform (scale, rotation, shift) that lays
the face of one photo over the face of the other, from the face detector's box and eye keypoints
(``ml.core.faces``). The compare slider moves the newer photo by it; bench/ghost_alignment.py measures it.

Scale: the ratio of the face boxes' sizes (the square root of their areas). Rotation: the turn between the two
eye lines (BlazeFace's first two keypoints), ignored past ``MAX_ANGLE`` (an eye mislocated, or a head turned
so far that turning the photo would not help). Shift: the newer face's box centre onto the older one's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: A turn of the eye line larger than this is not corrected (more likely a mislocated eye than a tilted head).
MAX_ANGLE = math.radians(25)
#: Faces whose sizes differ more than this (either way) are not lined up: not the same framing at all.
MAX_SCALE = 3.0


@dataclass(frozen=True)
class FaceGeometry:
    """Where a face is in a photo, in that photo's pixels (after EXIF orientation)."""

    width: int  # the photo's size
    height: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None  # BlazeFace's right eye, left eye

    @classmethod
    def from_face(cls, face, width: int, height: int, scale: float = 1.0) -> FaceGeometry:
        """From an ``ml.core.faces.FaceBox`` found on a photo decoded at 1/``scale`` of ``width`` x ``height``."""
        box = (face.x * scale, face.y * scale, (face.x + face.w) * scale, (face.y + face.h) * scale)
        eyes = None
        if len(face.keypoints) >= 2:
            (rx, ry), (lx, ly) = face.keypoints[:2]
            eyes = ((rx * scale, ry * scale), (lx * scale, ly * scale))
        return cls(int(width), int(height), box, eyes)

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def size(self) -> float:
        x0, y0, x1, y1 = self.box
        return math.sqrt(max(x1 - x0, 0.0) * max(y1 - y0, 0.0))

    def to_json(self) -> dict:
        return {"width": self.width, "height": self.height, "box": [round(v, 2) for v in self.box],
                "eyes": [[round(v, 2) for v in p] for p in self.eyes] if self.eyes else None}

    @classmethod
    def from_json(cls, data: dict) -> FaceGeometry:
        eyes = data.get("eyes")
        return cls(int(data["width"]), int(data["height"]), tuple(float(v) for v in data["box"]),
                   tuple(tuple(float(v) for v in p) for p in eyes) if eyes else None)


@dataclass(frozen=True)
class Similarity:
    """p -> scale * R(angle) p + (tx, ty), in image coordinates (y down: a positive angle turns clockwise on
    screen, as CSS's rotate())."""

    scale: float
    angle: float  # radians
    tx: float
    ty: float

    def apply(self, x: float, y: float) -> tuple[float, float]:
        a, b = self.scale * math.cos(self.angle), self.scale * math.sin(self.angle)
        return a * x - b * y + self.tx, b * x + a * y + self.ty

    def apply_box(self, box) -> tuple[float, float, float, float]:
        """``box`` (x0, y0, x1, y1) moved: its centre moved, its sides scaled (a turned box, given unturned)."""
        x0, y0, x1, y1 = box
        cx, cy = self.apply((x0 + x1) / 2, (y0 + y1) / 2)
        hw, hh = (x1 - x0) * self.scale / 2, (y1 - y0) * self.scale / 2
        return cx - hw, cy - hh, cx + hw, cy + hh

    def matrix(self) -> list[list[float]]:
        """The 2 x 3 affine matrix (as OpenCV's warpAffine takes it)."""
        a, b = self.scale * math.cos(self.angle), self.scale * math.sin(self.angle)
        return [[a, -b, self.tx], [b, a, self.ty]]

    def to_json(self) -> dict:
        return {"scale": round(self.scale, 5), "angle": round(self.angle, 5), "tx": round(self.tx, 2),
                "ty": round(self.ty, 2)}


def eye_angle(face: FaceGeometry) -> float | None:
    if not face.eyes:
        return None
    (rx, ry), (lx, ly) = face.eyes
    if abs(lx - rx) + abs(ly - ry) < 1:
        return None
    return math.atan2(ly - ry, lx - rx)


def align(before: FaceGeometry, after: FaceGeometry) -> Similarity | None:
    """The transform from ``after``'s pixels to ``before``'s that lays the after face over the before face;
    None when the faces are too different in size to be the same framing."""
    if before.size <= 0 or after.size <= 0:
        return None
    scale = before.size / after.size
    if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        return None
    angle = 0.0
    a_before, a_after = eye_angle(before), eye_angle(after)
    if a_before is not None and a_after is not None:
        turn = math.remainder(a_before - a_after, math.tau)
        if abs(turn) <= MAX_ANGLE:
            angle = turn
    moved = Similarity(scale, angle, 0.0, 0.0).apply(*after.centre)
    bx, by = before.centre
    return Similarity(scale, angle, bx - moved[0], by - moved[1])


def box_difference(a, b) -> tuple[float, float]:
    """-> (size ratio, larger over smaller, >= 1; centre offset as a fraction of ``a``'s size) of two boxes
    (x0, y0, x1, y1) in the same pixels: how far apart two face boxes are in scale and position."""
    size_a = math.sqrt((a[2] - a[0]) * (a[3] - a[1]))
    size_b = math.sqrt((b[2] - b[0]) * (b[3] - b[1]))
    ratio = max(size_a, size_b) / min(size_a, size_b)
    offset = math.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2) / size_a
    return ratio, offset
