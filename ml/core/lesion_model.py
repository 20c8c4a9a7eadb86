"""The lesion readout's model: a small centre-heatmap head on VGG16's block4_conv3 maps (stride 8).

The classifier's forward pass already computes block4_conv3 for the face crop; the head reads those maps
(``NetOutput.maps4``), so finding lesions costs the head alone, not another network pass. The head is
CenterNet's in miniature: for every cell of the (S/8, S/8) grid it scores "a lesion is centred here" and
regresses the lesion's box size; peaks of the score are the lesions. It runs in numpy (a few milliseconds a
photo), identical on every runtime. Training is in ``ml.core.training.lesions``.

Weights (``lesions.npz`` in an artifact): ``lesion_norm/scale`` (512,), ``lesion_reduce/{kernel,bias}``
(512, C) 1x1, ``lesion_conv/{kernel,bias}`` (3, 3, C, C), ``lesion_out/{kernel,bias}`` (C, 3): channel 0 the
centre logit, 1-2 the log box width and height in crop pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lesions import HAYASHI_UPPER, LesionFindings, grade_of

WEIGHTS_FILE = "lesions.npz"
METADATA_FILE = "lesions.json"
#: block4_conv3's stride in crop pixels.
STRIDE = 8
KEYS = tuple(
    f"{layer}/{part}" for layer in ("lesion_reduce", "lesion_conv", "lesion_out") for part in ("kernel", "bias")
)


def _relu(x):
    return np.maximum(x, 0.0, out=x)


def conv3x3_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(H, W, C) * (3, 3, C, K) 'same' convolution (as Keras computes it) -> (H, W, K), by im2col."""
    h, w, c = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    cols = np.concatenate([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=-1)
    return cols.reshape(h * w, 9 * c) @ kernel.reshape(9 * c, -1) + bias


@dataclass
class LesionHead:
    """The trained head and its decoding settings (``threshold``: the centre score a lesion needs)."""

    weights: dict[str, np.ndarray]
    threshold: float = 0.3
    grade_upper: tuple[int, ...] = HAYASHI_UPPER
    version: str = ""
    #: From this many lesions a photo the classifier calls healthy is called acne (None: no such rule);
    #: chosen by bench/lesion_verdict.py on held-out sources.
    healthy_limit: int | None = None

    def maps(self, maps4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """block4_conv3 maps of one crop (512, H, W) -> (centre scores (H, W) in [0, 1], box sizes (H, W, 2))."""
        w = self.weights
        x = np.ascontiguousarray(np.moveaxis(np.asarray(maps4, np.float32), 0, -1))  # (H, W, 512)
        h, wd, _ = x.shape
        x = x * w["lesion_norm/scale"]
        y = _relu(x.reshape(h * wd, -1) @ w["lesion_reduce/kernel"] + w["lesion_reduce/bias"]).reshape(h, wd, -1)
        y = _relu(conv3x3_same(y, w["lesion_conv/kernel"], w["lesion_conv/bias"])).reshape(h, wd, -1)
        out = y @ w["lesion_out/kernel"] + w["lesion_out/bias"]
        scores = 1.0 / (1.0 + np.exp(-np.clip(out[..., 0], -30, 30)))
        return scores, np.exp(np.clip(out[..., 1:3], 0.0, 5.0))

    def find(self, maps4: np.ndarray, crop_size: int, visible: np.ndarray | None = None) -> list[tuple]:
        """Lesions in one crop: [(x0, y0, x1, y1, score), ...] in crop pixels. ``visible``: (H, W) weights of
        where the crop shows the photo (the face oval); scores elsewhere are ignored."""
        scores, sizes = self.maps(maps4)
        if visible is not None:
            scores = scores * (np.asarray(visible, np.float32) > 0.5)
        return decode(scores, sizes, self.threshold, crop_size / scores.shape[0])

    def findings(self, boxes_crop: list[tuple], crop_box, crop_size: int, photo_scale: float = 1.0) -> LesionFindings:
        """Crop-pixel boxes -> ``LesionFindings`` in the photo's own pixels (``crop_box``: the crop's box in the
        decoded photo; ``photo_scale``: original size / decoded size)."""
        x0, y0, x1, _y1 = crop_box
        k = (x1 - x0) / crop_size
        boxes = tuple(
            (
                (x0 + a * k) * photo_scale,
                (y0 + b * k) * photo_scale,
                (x0 + c * k) * photo_scale,
                (y0 + d * k) * photo_scale,
                s,
            )
            for a, b, c, d, s in boxes_crop
        )
        return LesionFindings(count=len(boxes), grade=grade_of(len(boxes), self.grade_upper), boxes=boxes)

    def to_metadata(self) -> dict:
        return {"threshold": self.threshold, "grade_upper": list(self.grade_upper), "version": self.version,
                "healthy_limit": self.healthy_limit}


def decode(scores: np.ndarray, sizes: np.ndarray, threshold: float, stride: float) -> list[tuple]:
    """Peaks of the centre scores (a 3x3 local maximum at or above ``threshold``) -> boxes in crop pixels,
    within the crop.
    Each centre is refined to the score-weighted mean of its 3x3 neighbourhood (sub-cell precision)."""
    h, w = scores.shape
    # ties (a saturated plateau) break by raster order, so a plateau is one peak, not one per cell
    ranked = scores.astype(np.float64) - np.arange(h * w, dtype=np.float64).reshape(h, w) * 1e-9
    padded = np.pad(ranked, 1, constant_values=-1.0)
    local_max = np.max(np.stack([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]), axis=0)
    ys, xs = np.nonzero((scores >= threshold) & (ranked >= local_max))
    boxes = []
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        ya, yb, xa, xb = max(0, y - 1), min(h, y + 2), max(0, x - 1), min(w, x + 2)
        patch = scores[ya:yb, xa:xb]
        gy, gx = np.mgrid[ya:yb, xa:xb]
        cy = float((patch * gy).sum() / patch.sum() + 0.5) * stride
        cx = float((patch * gx).sum() / patch.sum() + 0.5) * stride
        bw, bh = (float(v) for v in sizes[y, x])
        # a lesion box lies inside the crop analysed (a size regressed past its edge is cut there)
        boxes.append((max(0.0, cx - bw / 2), max(0.0, cy - bh / 2), min(w * stride, cx + bw / 2),
                      min(h * stride, cy + bh / 2), float(scores[y, x])))
    boxes.sort(key=lambda b: -b[4])
    return boxes


def save(out_dir, head: LesionHead, metadata: dict | None = None) -> Path:
    """Writes ``lesions.npz`` (float16) and ``lesions.json`` beside an artifact's files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / WEIGHTS_FILE, **{k: np.asarray(v, np.float16) for k, v in head.weights.items()})
    (out / METADATA_FILE).write_text(json.dumps({**(metadata or {}), **head.to_metadata()}, indent=2, sort_keys=True))
    return out / WEIGHTS_FILE


def load(art_dir) -> LesionHead | None:
    """The lesion head of an artifact, or None when it has none. Raises ValueError when it is incomplete."""
    d = Path(art_dir)
    wpath, mpath = d / WEIGHTS_FILE, d / METADATA_FILE
    if not wpath.is_file():
        return None
    try:
        meta = json.loads(mpath.read_text()) if mpath.is_file() else {}
        with np.load(wpath, allow_pickle=False) as z:
            weights = {k: z[k].astype(np.float32) for k in z.files}
    except Exception as exc:  # zip, JSON and value errors of a damaged file
        raise ValueError(f"unreadable lesion head: {exc}") from exc
    missing = [k for k in (*KEYS, "lesion_norm/scale") if k not in weights]
    if missing:
        raise ValueError(f"lesion head lacks {missing}")
    return LesionHead(
        weights=weights,
        threshold=float(meta.get("threshold", 0.3)),
        grade_upper=tuple(int(v) for v in meta.get("grade_upper", HAYASHI_UPPER)),
        version=str(meta.get("version", "")),
        healthy_limit=None if meta.get("healthy_limit") is None else int(meta["healthy_limit"]),
    )


def heatmap_targets(centres, sizes, grid: int, stride: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training targets for one crop: centres (n, 2) and box sizes (n, 2) in crop pixels -> (centre heatmap
    (grid, grid) with a Gaussian per lesion (CenterNet's splat, sigma from the box size), box-size targets
    (grid, grid, 2) as logs, and the mask of cells that carry a size target (grid, grid))."""
    heat = np.zeros((grid, grid), np.float32)
    size_t = np.zeros((grid, grid, 2), np.float32)
    size_mask = np.zeros((grid, grid), np.float32)
    yy, xx = np.mgrid[0:grid, 0:grid]
    for (cx, cy), (bw, bh) in zip(
        np.asarray(centres, np.float32).reshape(-1, 2), np.asarray(sizes, np.float32).reshape(-1, 2), strict=True
    ):
        gx, gy = cx / stride - 0.5, cy / stride - 0.5
        ix, iy = int(round(gx)), int(round(gy))
        if not (0 <= ix < grid and 0 <= iy < grid):
            continue
        sigma = max(0.5, min(bw, bh) / stride / 3.0)
        heat = np.maximum(heat, np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * sigma**2)))
        heat[iy, ix] = 1.0
        size_t[iy, ix] = np.log(np.maximum([bw, bh], 1.0))
        size_mask[iy, ix] = 1.0
    return heat, size_t, size_mask
