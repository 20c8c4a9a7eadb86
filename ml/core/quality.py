"""Image quality flags and the skin-pixel ratio, computed by the preprocessing code."""

from __future__ import annotations

import cv2
import numpy as np

#: Variance of the Laplacian (grey, crop resized to QUALITY_SIDE) below which the image is blurry.
BLUR_LAPLACIAN_VAR = 60.0
#: Mean luma (0-255) below which the crop is too dark / above which it is too bright.
DARK_MEAN = 50.0
BRIGHT_MEAN = 215.0
#: Shorter side, in pixels, of the analysed region (face crop or whole image) below which it is too small.
MIN_REGION_SIDE = 100
#: Side the crop is resized to before the blur/exposure measurements (makes them size independent).
QUALITY_SIDE = 256
#: YCrCb skin range (Chai & Ngan 1999) used for the skin-pixel ratio.
SKIN_CR = (133, 180)  # upper bound widened from 173 so inflamed (red) skin still counts
SKIN_CB = (77, 127)

QUALITY_KEYS = ("no_face", "blurry", "too_dark", "too_bright", "too_small", "no_colour")
#: Colourfulness (Hasler and Suesstrunk 2003) below which a photo is treated as black and white:
#: redness cannot be judged without colour. Greyscale is 0; 99.5% of skin4 colour photos score above 13.
MIN_COLOURFULNESS = 8.0


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness metric (0 for a greyscale image)."""
    x = rgb.astype(np.float32)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def laplacian_variance(rgb: np.ndarray, normalised: bool = False) -> float:
    """Of ``rgb`` resized to QUALITY_SIDE (``normalised``: it already is, see ``normalise``)."""
    gray = cv2.cvtColor(rgb if normalised else normalise(rgb), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


#: Darkening a photo by a factor k scales its Laplacian variance by k squared: below this mean luma the variance
#: is scaled back up as if the photo were this bright, so a dim but sharp photo does not read as blurry.
SHARPNESS_REF_LUMA = 100.0


def sharpness(laplacian_var: float, mean_luma: float) -> float:
    """The Laplacian variance corrected for exposure (``SHARPNESS_REF_LUMA``); what the ``blurry`` gate reads."""
    return laplacian_var * (SHARPNESS_REF_LUMA / min(max(mean_luma, 1.0), SHARPNESS_REF_LUMA)) ** 2


def mean_luma(rgb: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean())


#: The skin ratio is measured on the crop area-averaged to this side, so pixel noise cannot pass as skin.
SKIN_SIDE = 32


def skin_ratio(rgb: np.ndarray) -> float:
    """Fraction of (area-averaged) pixels inside the YCrCb skin range."""
    return float(skin_mask(cv2.resize(rgb, (SKIN_SIDE, SKIN_SIDE), interpolation=cv2.INTER_AREA)).mean())


def quality_flags(
    region_rgb: np.ndarray, face_found: bool, scale: float = 1.0, small: np.ndarray | None = None
) -> dict[str, bool]:
    """Flags of the analysed region; ``scale`` is original pixels per array pixel (a reduced decode), so
    "too small" is judged on the photo as uploaded; ``small``: ``normalise(region_rgb)`` if the caller has it."""
    h, w = region_rgb.shape[:2]
    small = normalise(region_rgb) if small is None else small  # one resize for every measurement
    luma = mean_luma(small)  # area averaging keeps the mean
    return {
        "no_face": not face_found,
        "blurry": laplacian_variance(small, normalised=True) < BLUR_LAPLACIAN_VAR,
        "too_dark": luma < DARK_MEAN,
        "too_bright": luma > BRIGHT_MEAN,
        "too_small": min(h, w) * scale < MIN_REGION_SIDE,
        "no_colour": colourfulness(small) < MIN_COLOURFULNESS,
    }


def normalise(rgb: np.ndarray) -> np.ndarray:
    """The region at QUALITY_SIDE x QUALITY_SIDE, where blur, exposure and colour are measured."""
    return cv2.resize(rgb, (QUALITY_SIDE, QUALITY_SIDE), interpolation=cv2.INTER_AREA)


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of pixels inside the YCrCb skin range."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return (cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])


def individual_typology_angle(rgb: np.ndarray) -> float | None:
    """Skin tone as the individual typology angle, ITA = atan((L* - 50) / b*) in degrees, from the
    median L* and b* of the skin pixels; None when too few pixels look like skin."""
    mask = skin_mask(rgb)
    if mask.mean() < 0.05:
        return None
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lightness, b = float(np.median(lab[..., 0][mask])), float(np.median(lab[..., 2][mask]))
    return float(np.degrees(np.arctan2(lightness - 50.0, max(b, 1e-6))))
