"""The decision rules shared by training-time evaluation and the Predictor."""

from __future__ import annotations

from .. import core

#: Below this skin-pixel ratio the crop is "no skin" even when a "face" was detected.
MIN_SKIN_RATIO_ANY = 0.05
#: Default skin-ratio floor when no face is found (training replaces it with a data-driven value).
MIN_SKIN_RATIO_NO_FACE = 0.2
#: A (nearly) flat image without a face is not a photo of skin.
MIN_GRAY_STD = 6.0
#: Laplacian variance far above any photo in skin4 (max ~1,900): pixel noise, not skin.
MAX_LAPLACIAN_VAR = 6000.0


def default_thresholds() -> dict:
    return {
        "uncertain": 0.5,
        "ood": 1.0,
        "min_skin_ratio_any": MIN_SKIN_RATIO_ANY,
        "min_skin_ratio_no_face": MIN_SKIN_RATIO_NO_FACE,
        "min_gray_std": MIN_GRAY_STD,
        "max_laplacian_var": MAX_LAPLACIAN_VAR,
    }


def signals(pre) -> dict:
    """The image signals the rules use, from a ``preprocess.Preprocessed``."""
    return {
        "face_found": bool(pre.face_found),
        "skin_ratio": float(pre.skin_ratio),
        "gray_std": float(pre.extras.get("gray_std", 255.0)),
        "laplacian_var": float(pre.extras.get("laplacian_var", 0.0)),
    }


def decide(probs, classes, sig: dict, ood: float, thresholds: dict):
    """-> (label, reason). ``probs`` are calibrated probabilities over ``classes``; ``sig`` from ``signals``."""
    t = {**default_thresholds(), **(thresholds or {})}
    face_found, skin_ratio, gray_std = sig["face_found"], sig["skin_ratio"], sig["gray_std"]
    if skin_ratio < t["min_skin_ratio_any"]:
        return core.NO_SKIN, "no skin-coloured pixels"
    if not face_found:
        if skin_ratio < t["min_skin_ratio_no_face"]:
            return core.NO_SKIN, "no face and little skin"
        if gray_std < t["min_gray_std"]:
            return core.NO_SKIN, "no face and a flat image"
        if sig.get("laplacian_var", 0.0) > t["max_laplacian_var"]:
            return core.NO_SKIN, "no face and pixel noise"
        if ood > t["ood"]:
            return core.NO_SKIN, "no face and unlike the training images"
    top = max(range(len(classes)), key=lambda i: probs[i])
    if probs[top] < t["uncertain"]:
        return core.UNCERTAIN, "top probability below the threshold"
    return classes[top], "confident"
