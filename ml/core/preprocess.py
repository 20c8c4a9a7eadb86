"""The single preprocessing function used by training, evaluation and inference.

load -> EXIF orientation -> RGB -> face crop with margin (or central crop without a face)
-> resize to ``size`` x ``size`` -> (later) VGG "caffe" preprocessing.
Quality flags and the skin-pixel ratio are computed on the same region.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import faces, quality

#: Margin added on each side of the detected face box, as a fraction of the box size.
FACE_MARGIN = 0.15
#: The face oval kept around a detected face, as semi-axes relative to the face box (width, height),
#: centred slightly above the box centre so the forehead stays in and the collar goes out.
FACE_OVAL = (0.56, 0.68)
FACE_OVAL_SHIFT = -0.06
#: Without a face, this fraction of each border is dropped (watermark strips, frames).
BORDER_CROP = 0.08
#: ImageNet BGR means used by VGG16's "caffe" preprocessing.
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
DEFAULT_SIZE = 224

#: Pillow's decompression-bomb limit for this process, set here only (uploads have their own, stricter
#: SCAN_MAX_PIXELS check in diagnosis.imaging).
MAX_IMAGE_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class InvalidImage(ValueError):
    """The input could not be decoded as an image."""


@dataclass
class Preprocessed:
    crop: np.ndarray  # uint8 RGB, size x size
    quality: dict[str, bool]
    face_found: bool
    skin_ratio: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the crop in the oriented image
    image_size: tuple[int, int]  # (width, height) after EXIF orientation
    extras: dict = field(default_factory=dict)
    colourfulness: float = 100.0
    # The same crop before the face mask: what people see under the heatmap (None when not masked).
    unmasked: np.ndarray | None = None
    # Where the face lies in the crop (crop pixels): the kept oval (cx, cy, ax, ay) and BlazeFace's keypoints
    # (``faces.KEYPOINTS`` order); None without a face.
    oval: tuple[float, float, float, float] | None = None
    keypoints: tuple | None = None

    def facial_skin(self) -> np.ndarray | None:
        """Crop pixels that are the skin of the face (bool (S, S)): inside the face oval, not the eyes or the
        mouth, and skin-coloured in the photo (so hair, eye bars, watermarks and background are out); None
        without a face. What the heatmap's share on skin is measured against (``gradcam.share_on``)."""
        if self.oval is None:
            return None
        view = self.unmasked if self.unmasked is not None else self.crop
        return (self.skin_weights() > 0.5) & quality.skin_mask(view)

    def skin_weights(self, side: int | None = None) -> np.ndarray:
        """Where the skin to judge lies in the crop, float32 (side, side) in [0, 1] (``skin_weights``)."""
        return skin_weights(self.crop.shape[0], self.oval, self.keypoints, side)

    @property
    def box_fractions(self) -> list[float]:
        """The crop box as fractions of the oriented image's width and height: [x0, y0, x1, y1]."""
        width, height = self.image_size
        x0, y0, x1, y1 = self.box
        return [round(x0 / width, 4), round(y0 / height, 4), round(x1 / width, 4), round(y1 / height, 4)]


#: JPEGs at least twice this long are decoded at a reduced scale by the JPEG decoder itself (DCT scaling,
#: a quarter of the work at half size): the network sees a 224 px crop and the face detector 128 px, so
#: a 2048 px upload decoded at 1024 px gives the same crop; sizes are still judged in original pixels.
DECODE_SIDE = 1024


def load_rgb(image) -> np.ndarray:
    """Decode bytes / a path / a file object / a PIL image into an oriented uint8 RGB array."""
    return decode(image)[0]


def decode(image, draft_side: int | None = None) -> tuple[np.ndarray, float]:
    """Like load_rgb; with ``draft_side``, a large JPEG is decoded at 1/2, 1/4 or 1/8 scale, keeping its
    longest side at least ``draft_side``. -> (oriented uint8 RGB array, original size / decoded size)."""
    try:
        if isinstance(image, Image.Image):
            pil = image
        elif isinstance(image, (bytes, bytearray, memoryview)):
            pil = Image.open(io.BytesIO(bytes(image)))
        elif isinstance(image, (str, os.PathLike)):
            pil = Image.open(image)
        elif hasattr(image, "read"):
            pil = Image.open(image)
        else:
            raise InvalidImage(f"unsupported image input: {type(image)!r}")
        original_long = max(pil.size)
        if draft_side and pil.format in ("JPEG", "MPO") and original_long >= 2 * draft_side:
            width, height = pil.size
            pil.draft("RGB", (-(-width * draft_side // original_long), -(-height * draft_side // original_long)))
        scale = original_long / max(pil.size)
        pil = ImageOps.exif_transpose(pil)
        if pil.mode != "RGB":
            if pil.mode in ("RGBA", "LA") or (pil.mode == "P" and "transparency" in pil.info):
                pil = pil.convert("RGBA")
                bg = Image.new("RGB", pil.size, (255, 255, 255))
                bg.paste(pil, mask=pil.split()[-1])
                pil = bg
            else:
                pil = pil.convert("RGB")
        arr = np.asarray(pil, dtype=np.uint8)
    except InvalidImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"cannot decode image: {exc}") from exc
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise InvalidImage("image has no pixels")
    return np.ascontiguousarray(arr), scale


def face_crop_box(face: faces.FaceBox, width: int, height: int, margin: float = FACE_MARGIN):
    """Square box around the face, enlarged by ``margin`` per side, shifted/clipped to the image."""
    cx, cy = face.x + face.w / 2.0, face.y + face.h / 2.0
    side = max(face.w, face.h) * (1.0 + 2.0 * margin)
    side = min(side, width, height)
    x0, y0 = cx - side / 2.0, cy - side / 2.0
    x0 = min(max(0.0, x0), width - side)
    y0 = min(max(0.0, y0), height - side)
    x0, y0 = max(0.0, x0), max(0.0, y0)
    return _int_box(x0, y0, min(width, x0 + side), min(height, y0 + side))


def central_box(width: int, height: int, border: float = BORDER_CROP):
    """Drop ``border`` of each side, then take the largest centred square."""
    x0, y0 = width * border, height * border
    w, h = width * (1 - 2 * border), height * (1 - 2 * border)
    side = min(w, h)
    x0 += (w - side) / 2.0
    y0 += (h - side) / 2.0
    return _int_box(x0, y0, x0 + side, y0 + side)


def _int_box(x0, y0, x1, y1):
    x0, y0 = int(round(x0)), int(round(y0))
    x1, y1 = max(x0 + 1, int(round(x1))), max(y0 + 1, int(round(y1)))
    return x0, y0, x1, y1


def preprocess(image, size: int = DEFAULT_SIZE, detect: bool = True, source_scale: float = 1.0) -> Preprocessed:
    """The one preprocessing function: returns the ``size`` x ``size`` uint8 RGB crop and flags.
    ``source_scale``: for an array decoded at a reduced scale, original size / array size."""
    if isinstance(image, np.ndarray):
        rgb, scale = image, source_scale
    else:
        rgb, scale = decode(image, draft_side=DECODE_SIDE)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImage("expected a uint8 RGB array")
    height, width = rgb.shape[:2]
    face, small_face = faces.detect_faces(rgb) if detect and min(height, width) >= 24 else (None, None)
    if face is not None:
        box = face_crop_box(face, width, height)
    else:
        box = central_box(width, height) if min(height, width) >= 20 else (0, 0, width, height)
    x0, y0, x1, y1 = box
    region = rgb[y0:y1, x0:x1]
    small = quality.normalise(region)  # blur, exposure and colour are measured on this one copy
    interp = cv2.INTER_AREA if min(region.shape[:2]) > size else cv2.INTER_CUBIC
    crop = cv2.resize(region, (size, size), interpolation=interp)
    colour = quality.colourfulness(crop)
    skin = quality.skin_ratio(crop)
    tone = quality.individual_typology_angle(crop)
    unmasked, oval, keypoints = None, None, None
    if face is not None:
        oval = face_oval(face, box, size)
        unmasked, crop = crop, blend_to_mean(crop, face_oval_mask(size, oval[:2], oval[2:]))
        to_crop = size / max(1, box[2] - box[0])  # photo pixels -> crop pixels (``scale`` stays the photo's own)
        keypoints = tuple(((kx - box[0]) * to_crop, (ky - box[1]) * to_crop) for kx, ky in face.keypoints)
    return Preprocessed(
        crop=np.ascontiguousarray(crop),
        quality=quality.quality_flags(region, face is not None, scale=scale, small=small),
        face_found=face is not None,
        skin_ratio=skin,
        colourfulness=colour,
        box=box,
        image_size=(width, height),
        unmasked=unmasked,
        oval=oval,
        keypoints=keypoints,
        extras={
            "face_kind": face.kind if face else None,
            "ita": tone,
            "gray_std": float(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).std()),
            "laplacian_var": quality.laplacian_variance(small, normalised=True),
            "mean_luma": quality.mean_luma(small),
            # a face too small in the frame to be cropped: its box's longer side in the photo's own pixels
            "small_face_side": max(small_face.w, small_face.h) * scale if small_face else None,
            "region_side": min(y1 - y0, x1 - x0) * scale,  # in the photo's own pixels (decision.MIN_JUDGE_SIDE)
            "scale": scale,  # the photo's own pixels per decoded pixel (readouts map boxes back with it)
        },
    )


def face_oval_mask(size: int, centre, axes, feather: float = 0.04) -> np.ndarray:
    """Float mask (size, size) in [0, 1]: 1 inside the ellipse, a soft edge, 0 outside."""
    mask = np.zeros((size, size), np.float32)
    c = (int(round(centre[0])), int(round(centre[1])))
    a = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
    cv2.ellipse(mask, c, a, 0, 0, 360, 1.0, -1)
    k = max(3, int(size * feather) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)


def blend_to_mean(crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pixels outside ``mask`` become the ImageNet mean colour (zero after VGG preprocessing)."""
    mean_rgb = VGG_MEAN_BGR[::-1]
    out = crop.astype(np.float32) * mask[..., None] + mean_rgb * (1.0 - mask[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def face_oval(face: faces.FaceBox, box, size: int) -> tuple[float, float, float, float]:
    """The face oval kept in a ``size`` crop of ``box``: (cx, cy, ax, ay) in crop pixels."""
    x0, y0, x1, _y1 = box
    scale = size / max(1, x1 - x0)
    cx = (face.x + face.w / 2.0 - x0) * scale
    cy = (face.y + face.h * (0.5 + FACE_OVAL_SHIFT) - y0) * scale
    return cx, cy, face.w * FACE_OVAL[0] * scale, face.h * FACE_OVAL[1] * scale


#: The eyes and the mouth inside the face oval, as ellipses around BlazeFace's keypoints: semi-axes as fractions
#: of the distance between the eyes. They are not skin, and eye bars and make-up sit there.
EYE_AXES = (0.32, 0.2)
MOUTH_AXES = (0.45, 0.24)


def skin_weights(size: int, oval=None, keypoints=None, side: int | None = None) -> np.ndarray:
    """Where the skin to judge lies in a ``size`` crop, float32 (side, side) in [0, 1]: the face oval without
    the eyes and the mouth where a face was found, else the whole crop. The model pools its features over
    these weights, so its decision (and its heatmap) comes from the skin of the face."""
    if oval is None:
        mask = np.ones((size, size), np.float32)
    else:
        mask = face_oval_mask(size, oval[:2], oval[2:])
        if keypoints and len(keypoints) >= 4:
            (rx, ry), (lx, ly), _nose, (mx, my) = keypoints[:4]
            d = max(1.0, float(np.hypot(lx - rx, ly - ry)))
            holes = np.zeros((size, size), np.float32)
            for (cx, cy), axes in (((rx, ry), EYE_AXES), ((lx, ly), EYE_AXES), ((mx, my), MOUTH_AXES)):
                a = (max(1, int(round(axes[0] * d))), max(1, int(round(axes[1] * d))))
                cv2.ellipse(holes, (int(round(cx)), int(round(cy))), a, 0, 0, 360, 1.0, -1)
            k = max(3, int(size * 0.04) | 1)
            mask = mask * (1.0 - cv2.GaussianBlur(holes, (k, k), 0))
    if side and side != size:
        return np.ascontiguousarray(cv2.resize(mask, (side, side), interpolation=cv2.INTER_AREA), np.float32)
    return np.ascontiguousarray(mask, np.float32)


def vgg_input(crops: np.ndarray) -> np.ndarray:
    """uint8 RGB batch (N, H, W, 3) or single image -> float32 VGG16 "caffe" input (BGR, mean removed)."""
    x = np.asarray(crops, dtype=np.float32)[..., ::-1]
    return np.ascontiguousarray(x - VGG_MEAN_BGR)
