"""Class activation maps (where the head's evidence lies), and the heatmap overlay.

``cam_from_head`` is the one the product uses: the head pools block5_conv3 and block 4 (over the skin
weights, or plainly) -> Dense(ReLU) -> Dense, so the logit's gradient with respect to its pooled inputs has
a closed form, ``W1 @ (W2[:, c] * [pen > 0])``, and the map splits it over the cells each pooled feature
averaged, block 5 and block 4 alike (``evidence_map``). It needs no gradient pass: the maps and the
penultimate activations come from the forward pass. ``gradcam`` (with a GradientTape) stays as the
reference the tests compare the block-5 map against.
"""

from __future__ import annotations

import cv2
import numpy as np

from .model import MIN_WEIGHT_SUM


def gradcam(top, features, class_index: int) -> np.ndarray:
    """Grad-CAM map (h, w) in [0, 1] for one block4 feature tensor of shape (1, h, w, 512) or (h, w, 512)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(features, np.float32).reshape((1,) + tuple(np.shape(features)[-3:])))
    with tf.GradientTape() as tape:
        conv, _pen, logits = top(x, training=False)
        score = logits[:, int(class_index)]
    grads = tape.gradient(score, conv)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1))[0].numpy().astype(np.float64)
    peak = cam.max()
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    return cam.astype(np.float32)


def evidence_map(conv, pen, w1, w2, class_index: int, kinds=("gap5",), block4=None, weights=None) -> np.ndarray:
    """Where the head's evidence for ``class_index`` comes from, signed, (h, w). The head's first layer is
    linear in its pooled inputs, so for an active penultimate unit set (``pen > 0``) the logit's pooled-input
    gradient is ``g = W1 @ (W2[:, c] * [pen > 0])``, and each pooled kind splits over the cells it averaged:
    ``g . A(x) * weight(x)`` (skin pooling: the skin weights over their sum; plain averaging: 1 / (h * w)).
    For skin pooling the map sums exactly to ``g . head input``; for "gap5" (mean after a 2x2 max pool) it is
    Grad-CAM's average-gradient approximation. ``conv``: block5_conv3 (h, w, 512); ``block4``: block 4's
    pooled maps (512, h, w), needed for the block-4 half; ``weights``: the skin weights (h, w)."""
    g = np.asarray(w1, np.float64) @ (np.asarray(w2, np.float64)[:, int(class_index)] * (np.asarray(pen) > 0))
    conv = np.asarray(conv, np.float64)
    total = np.zeros(conv.shape[:2])
    for i, kind in enumerate(kinds):
        if kind.endswith("5"):
            maps = conv
        elif block4 is not None:
            maps = np.moveaxis(np.asarray(block4, np.float64), 0, -1)
        else:
            continue
        contribution = maps @ g[512 * i : 512 * (i + 1)]
        if kind.startswith("skin"):
            w = np.asarray(weights, np.float64)
            contribution = contribution * w / max(float(w.sum()), MIN_WEIGHT_SUM)
        else:
            contribution = contribution / contribution.size
        total += contribution
    return total


def cam_from_head(conv, pen, w1, w2, class_index: int, kinds=("gap5",), block4=None, weights=None) -> np.ndarray:
    """The heatmap, (h, w) in [0, 1]: the positive part of ``evidence_map``, scaled to its peak. With the
    default ``kinds`` (block 5 only) it equals the gradient Grad-CAM on block5_conv3."""
    cam = np.maximum(evidence_map(conv, pen, w1, w2, class_index, kinds, block4, weights), 0.0)
    peak = cam.max()
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    return cam.astype(np.float32)


def skin_heatmap(conv, pen, w1, w2, class_index: int, kinds, block4, pixel_weights: np.ndarray) -> np.ndarray:
    """The heatmap of a head that pools over the skin weights, at the crop's resolution, (S, S) in [0, 1].

    Each cell's evidence came from its pixels in proportion to their weights (the cell's weight is their
    mean), so the map gives it back to them that way: the unweighted cell evidence, upsampled, times the
    pixel weights. Nothing lands on the eyes, the mouth or outside the face oval, where the model read
    nothing; a cell-level map upsampled would blur into them."""
    h = np.shape(conv)[0]
    cells = evidence_map(conv, pen, w1, w2, class_index, kinds, block4, np.ones((h, h)))
    side = pixel_weights.shape[0]
    big = cv2.resize(cells.astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    cam = np.maximum(big, 0.0) * pixel_weights
    peak = cam.max()
    return (cam / peak if peak > 0 else np.zeros_like(cam)).astype(np.float32)


def share_on(cam: np.ndarray, mask: np.ndarray) -> float:
    """The share of a heatmap's mass (``cam`` (h, w) >= 0, drawn over the crop as ``overlay`` draws it) that
    falls on ``mask`` (bool, the crop's size)."""
    h, w = mask.shape
    big = np.maximum(cv2.resize(np.asarray(cam, np.float32), (w, h), interpolation=cv2.INTER_CUBIC), 0.0)
    total = float(big.sum())
    return float(big[mask].sum() / total) if total > 0 else 0.0


def overlay(crop_rgb: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Colour-mapped heatmap blended over the crop (uint8 RGB, same size as the crop)."""
    h, w = crop_rgb.shape[:2]
    cam_big = cv2.resize(np.clip(cam, 0, 1).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    heat = cv2.applyColorMap(np.uint8(255 * np.clip(cam_big, 0, 1)), cv2.COLORMAP_JET)[..., ::-1]
    return cv2.addWeighted(crop_rgb, 1 - alpha, heat, alpha, 0)


def to_jpeg(rgb: np.ndarray, quality: int = 88) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
