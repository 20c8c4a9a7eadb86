"""Grad-CAM on block5_conv3 of the top model, and the heatmap overlay."""

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
