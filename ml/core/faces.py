"""Face detection with OpenCV's Haar cascades (shipped inside opencv-python-headless 4.x).

Nothing is downloaded: the cascade XML files live in ``cv2.data.haarcascades``.
We run the frontal cascade, then the profile cascade on the image and on its mirror
(the profile cascade only finds faces looking one way) and keep the largest box.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

#: Longest side the image is scaled to before detection (speed; skin4 is <= 384 px).
DETECT_MAX_SIDE = 480
#: Smallest face, as a fraction of the shorter image side, that we accept.
MIN_FACE_FRACTION = 0.12
FRONTAL_MIN_NEIGHBORS = 5
PROFILE_MIN_NEIGHBORS = 5
SCALE_FACTOR = 1.1

_local = threading.local()


@dataclass(frozen=True)
class FaceBox:
    x: int
    y: int
    w: int
    h: int
    kind: str  # "frontal" | "profile"

    @property
    def area(self) -> int:
        return self.w * self.h


def _cascades():
    # CascadeClassifier objects are not thread-safe: one set per thread.
    c = getattr(_local, "cascades", None)
    if c is None:
        root = cv2.data.haarcascades
        c = (
            cv2.CascadeClassifier(root + "haarcascade_frontalface_default.xml"),
            cv2.CascadeClassifier(root + "haarcascade_profileface.xml"),
        )
        if c[0].empty() or c[1].empty():  # pragma: no cover - broken install
            raise RuntimeError("OpenCV Haar cascades are missing from cv2.data")
        _local.cascades = c
    return c


def detect_face(rgb: np.ndarray) -> FaceBox | None:
    """Return the largest face box (in ``rgb`` pixel coordinates) or None."""
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    gh, gw = gray.shape
    min_side = max(24, int(MIN_FACE_FRACTION * min(gh, gw)))
    frontal, profile = _cascades()
    boxes: list[FaceBox] = []
    for x, y, bw, bh in _detect(frontal, gray, FRONTAL_MIN_NEIGHBORS, min_side):
        boxes.append(FaceBox(x, y, bw, bh, "frontal"))
    if not boxes:
        for x, y, bw, bh in _detect(profile, gray, PROFILE_MIN_NEIGHBORS, min_side):
            boxes.append(FaceBox(x, y, bw, bh, "profile"))
        flipped = np.ascontiguousarray(gray[:, ::-1])
        for x, y, bw, bh in _detect(profile, flipped, PROFILE_MIN_NEIGHBORS, min_side):
            boxes.append(FaceBox(gw - x - bw, y, bw, bh, "profile"))
    if not boxes:
        return None
    best = max(boxes, key=lambda b: b.area)
    inv = 1.0 / scale
    return FaceBox(
        int(round(best.x * inv)),
        int(round(best.y * inv)),
        int(round(best.w * inv)),
        int(round(best.h * inv)),
        best.kind,
    )


def _detect(cascade, gray, min_neighbors, min_side):
    found = cascade.detectMultiScale(
        gray, scaleFactor=SCALE_FACTOR, minNeighbors=min_neighbors, minSize=(min_side, min_side)
    )
    return [tuple(int(v) for v in b) for b in (found if len(found) else [])]
