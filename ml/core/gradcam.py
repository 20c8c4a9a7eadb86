"""Class activation maps on block5_conv3, and the heatmap overlay.

``cam_from_head`` is the one the product uses. The head is GAP(maxpool(conv)) -> Dense(ReLU) -> Dense,
so Grad-CAM's channel weights (the spatially averaged gradient of the class logit) have a closed form:
each pooled cell passes its gradient to exactly one conv cell, so the average over the conv map is
``W1 @ (W2[:, c] * [pen > 0]) / (H * W)``. The constant cancels in the normalisation, and the map
needs no gradient pass: the conv output and the penultimate activations come from the forward pass.
``gradcam`` (with a GradientTape) stays as the reference the tests compare against.
"""

from __future__ import annotations

import cv2
import numpy as np


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


def cam_from_head(conv: np.ndarray, pen: np.ndarray, w1: np.ndarray, w2: np.ndarray, class_index: int):
    """Closed-form Grad-CAM map (h, w) in [0, 1] from block5_conv3 ``conv`` (h, w, 512), penultimate
    activations ``pen`` (256,), head kernels ``w1`` (512 or more, 256) and ``w2`` (256, n). Only the first 512
    rows of ``w1`` read block 5 (``model.HEAD_INPUTS``); the block-4 rows have no path through the map."""
    channel_weights = w1[: np.shape(conv)[-1]] @ (w2[:, int(class_index)] * (np.asarray(pen) > 0))
    cam = np.maximum(np.tensordot(np.asarray(conv, np.float64), channel_weights, axes=([-1], [0])), 0.0)
    peak = cam.max()
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    return cam.astype(np.float32)


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
