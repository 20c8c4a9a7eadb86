"""Photo-style augmentation applied to preprocessed uint8 RGB crops during training.

The aim is to break source cues (camera vs. retouched/GAN texture, JPEG quality,
white balance, watermarks, eye bars, framing) rather than to add geometric variety only.
"""

from __future__ import annotations

import cv2
import numpy as np

_WATERMARK_WORDS = ("(c) Dermnet.com", "shutterstock.com", "www.example.com", "(c) photo", "ID 1966504144", "sample")


#: Share of face crops that become a close-up of their own skin. People send close-ups too, and without this
#: the close-ups in the data are nearly all DermNet's limbs with eczema: any close-up looked like eczema (held
#: out, 37 % of the web acne close-ups were called eczema).
CLOSE_UP = 0.3
CLOSE_UP_ZOOM = (1.8, 3.0)


def augment(
    crop: np.ndarray,
    rng: np.random.Generator,
    face_found: bool = True,
    weights: np.ndarray | None = None,
    close_up: float = CLOSE_UP,
):
    """An augmented copy of ``crop``; with ``weights`` (the crop's skin weights, ``preprocess.skin_weights``),
    -> (copy, the weights moved with it). A face crop becomes a close-up of its skin with probability
    ``close_up`` (only with ``weights``: the close-up is centred on the skin)."""
    img = crop.copy()
    s = img.shape[0]
    mask = None if weights is None else np.asarray(weights, np.float32).copy()
    if face_found and mask is not None and rng.random() < close_up:
        img, mask = _close_up(img, mask, rng)
    # Crops with a face arrive with the face oval kept and the rest neutral; give crops without a face
    # the same look half of the time, so "oval or not" cannot stand in for the class.
    if not face_found and rng.random() < 0.5:
        from .preprocess import blend_to_mean, face_oval_mask

        centre = rng.uniform(0.42, 0.58, size=2) * s
        axes = (rng.uniform(0.36, 0.46) * s, rng.uniform(0.42, 0.5) * s)
        oval = face_oval_mask(s, centre, axes)
        img = blend_to_mean(img, oval)
        mask = None if mask is None else mask * oval
    # geometry: flip, small rotation, zoom, shift
    if rng.random() < 0.5:
        img = img[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    if rng.random() < 0.8:
        angle = rng.uniform(-15, 15)
        zoom = rng.uniform(1.0, 1.2)
        tx, ty = rng.uniform(-0.06, 0.06, size=2) * s
        m = cv2.getRotationMatrix2D((s / 2, s / 2), angle, zoom)
        m[:, 2] += (tx, ty)
        img = cv2.warpAffine(
            np.ascontiguousarray(img), m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        if mask is not None:
            warped = cv2.warpAffine(
                np.ascontiguousarray(mask), m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
            )
            mask = np.asarray(warped, np.float32)
    img = _photo_style(img, rng, s)
    return img if weights is None else (img, np.ascontiguousarray(mask, np.float32))


def _close_up(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
    """Zoom into a random point of the skin (``mask`` > 0.9), the crop and its weights alike."""
    ys, xs = np.nonzero(mask > 0.9)
    if not len(ys):
        return img, mask
    k = int(rng.integers(len(ys)))
    s = img.shape[0]
    m = cv2.getRotationMatrix2D((float(xs[k]), float(ys[k])), 0.0, float(rng.uniform(*CLOSE_UP_ZOOM)))
    m[:, 2] += (s / 2 - xs[k], s / 2 - ys[k])
    warp = {"dsize": (s, s), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REFLECT_101}
    return cv2.warpAffine(np.ascontiguousarray(img), m, **warp), np.asarray(cv2.warpAffine(mask, m, **warp), np.float32)


def _photo_style(img: np.ndarray, rng: np.random.Generator, s: int) -> np.ndarray:
    """Colour, texture, overlays and JPEG re-compression (no geometry)."""
    img = img.astype(np.float32)
    # colour / white balance / brightness / contrast / saturation
    if rng.random() < 0.8:
        img *= rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # white balance
    if rng.random() < 0.8:
        mean = img.mean()
        img = (img - mean) * rng.uniform(0.75, 1.25) + mean * rng.uniform(0.75, 1.25)
    if rng.random() < 0.4:
        gray = img.mean(axis=2, keepdims=True)
        img = gray + (img - gray) * rng.uniform(0.7, 1.3)
    img = np.clip(img, 0, 255)
    # texture: blur or sharpen, then sensor noise
    r = rng.random()
    if r < 0.3:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), rng.uniform(0.5, 1.8))
    elif r < 0.5:
        blurred = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.0))
        img = np.clip(img + rng.uniform(0.3, 1.0) * (img - blurred), 0, 255)
    if rng.random() < 0.4:
        sigma = rng.uniform(2, 10)
        if rng.random() < 0.5:
            noise = rng.normal(0, sigma, size=img.shape[:2] + (1,))  # luminance noise
        else:
            noise = rng.normal(0, sigma, size=img.shape)  # chroma noise
        img = np.clip(img + noise.astype(np.float32), 0, 255)
    img = img.astype(np.uint8)
    # overlays that some sources carry: watermark text, eye bars, a bottom strip
    if rng.random() < 0.25:
        img = _watermark(img, rng)
    if rng.random() < 0.1:
        img = _eye_bar(img, rng)
    if rng.random() < 0.08:
        h = int(s * rng.uniform(0.05, 0.1))
        img[-h:] = int(rng.integers(200, 256))
    # JPEG re-compression at a random quality (last, like a real upload)
    if rng.random() < 0.6:
        q = int(rng.integers(30, 95))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)


def _watermark(img, rng):
    s = img.shape[0]
    overlay = img.copy()
    text = str(rng.choice(_WATERMARK_WORDS))
    scale = s / 300 * rng.uniform(0.6, 1.2)
    org = (int(rng.uniform(0.02, 0.4) * s), int(rng.uniform(0.2, 0.95) * s))
    colour = (255, 255, 255) if rng.random() < 0.7 else (40, 40, 40)
    cv2.putText(overlay, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, int(scale * 2)), cv2.LINE_AA)
    alpha = rng.uniform(0.3, 0.8)
    return cv2.addWeighted(overlay, alpha, img, 1 - alpha, 0)


def _eye_bar(img, rng):
    s = img.shape[0]
    y = int(rng.uniform(0.25, 0.45) * s)
    h = int(rng.uniform(0.07, 0.14) * s)
    x0, x1 = int(rng.uniform(0.05, 0.2) * s), int(rng.uniform(0.8, 0.95) * s)
    img = img.copy()
    img[y : y + h, x0:x1] = int(rng.choice([0, 0, 128]))
    return img
