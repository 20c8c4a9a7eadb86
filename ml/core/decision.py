"""The decision rules shared by training-time evaluation and the Predictor.

The model scores four conditions plus a fifth, rejecting output ("not a face or skin"). A result is a
condition only when the photo is in colour, a face it shows is large enough to judge, the reject score is
low, there is skin to judge, and the top condition is clearly ahead; otherwise it is ``no_skin`` or
``uncertain`` with a reason code.
"""

from __future__ import annotations

from .. import core
from . import quality

#: Below this skin-pixel ratio a crop without a face is "no skin".
MIN_SKIN_RATIO_ANY = 0.05
#: Default skin-ratio floor when no face is found (training replaces it with a data-driven value).
MIN_SKIN_RATIO_NO_FACE = 0.2
#: A (nearly) flat image without a face is not a photo of skin.
MIN_GRAY_STD = 6.0
#: Laplacian variance far above any photo in skin4 (max ~1,900): pixel noise, not skin.
MAX_LAPLACIAN_VAR = 6000.0
#: A found face whose crop (face box plus margins) is shorter than this, in the photo's own pixels, is too
#: small to judge (bench/degradation.py on vgg16-skin-v6, ml/README "Photos that cannot show the skin"): from
#: 160 px down acne recall falls (full quality 100 %; 128-160 px 85 %, 112-128 px 75 %, 96-112 px 73 %) and acne
#: is called healthy (0 %; 8 %, 17 %, 20 %). 80 px until issue 29.
MIN_JUDGE_SIDE = 128.0
#: A refusal this sure is "not a face or skin" even when most pixels are skin-coloured (a ginger cat, sand,
#: wood): of vgg16-skin-v6's 5,569 held-out skin photos, 2 reach it; of its 1,208 non-skin photos, 621.
SURE_NOT_SKIN = 0.99
#: Below this sharpness (Laplacian variance of the crop at quality.QUALITY_SIDE, corrected for exposure by
#: quality.sharpness) the photo cannot show lesions: acne recall 100 % at full quality, 39 % at 6-8, 33 % at
#: 4-6 (acne called healthy 0 %; 44 %, 50-56 %). It costs 5 % of clean UTKFace faces and web acne close-ups
#: (soft 200-300 px crops); 12 would cost 30 % of UTKFace. Measured by bench/degradation.py.
MIN_SHARPNESS = 8.0
#: Below this exposure (mean luma of the crop, 0-255): acne recall 83 % at 30-40, 38 % at 25-30, and healthy
#: faces called healthy 88 %, 81 % (full quality 100 %, 100 %); no clean skin4 skin photo is under it.
MIN_LUMA = 40.0
#: A confident answer is worded "Likely" from this calibrated top probability on, "Possibly" below it (down to
#: the model's "uncertain" floor). vgg16-skin-v6's held-out sources (bench/confidence_wording.py): right
#: 0.958 of the time at 0.9-1.0, 0.887 at 0.8-0.9, 0.833 at 0.7-0.8, but 0.749 at 0.6-0.7 and 0.642 at 0.5-0.6:
#: from 0.7 on every band is right at least four times in five (0.914 overall; "Possibly" 0.676).
LIKELY_PROBABILITY = 0.7
#: The reasons ``photo_gate`` gives: the photo cannot show lesions, so its scores mean nothing.
PHOTO_GATE_REASONS = ("too_dark", "no_colour", "too_small", "blurry")
#: A "healthy" reading of a photo in which no face was found (``healthy_needs_face``): a skin-coloured wall
#: around a face too small to find, or a half-face close-up, reads healthy because nothing in it looks like
#: a lesion (bench/degradation.py: 60 % of ACNE04 close-ups pasted small into a wall). Reassurance needs a face.
NO_FACE_FOR_HEALTHY = "no_face"
#: The reasons whose photo cannot support a verdict, so it does not count in a multi-photo scan (ml.core.combine).
UNSUPPORTED_REASONS = (*PHOTO_GATE_REASONS, NO_FACE_FOR_HEALTHY)
#: The quality gates switched off (bench/degradation.py scores the model's own answer with these).
NO_QUALITY_GATES = {"min_judge_side": 0.0, "min_sharpness": 0.0, "min_luma": 0.0, "refuse_small_faces": False,
                    "healthy_needs_face": False}

#: Why a result is what it is: a stable code (API ``reason``) and the words a person reads.
REASONS = {
    "confident": "The top condition is clearly ahead of the others.",
    "low_confidence": "No condition is clearly ahead of the others in this photo.",
    "no_colour": "A colour photo is needed: redness and skin tone cannot be judged in black and white.",
    "not_skin": "This does not look like a photo of a face or skin.",
    "unfamiliar_skin": "This looks like skin, but not like the photos the model learned from, so it cannot judge it.",
    "no_skin_pixels": "No skin could be found in this photo.",
    "little_skin": "No face was found and there is too little skin in the photo.",
    "flat_image": "No face was found and the image is nearly flat (no detail).",
    "pixel_noise": "No face was found and the image looks like pixel noise.",
    "too_small": "The face is too small in this photo to judge. Come closer, so it fills the frame.",
    "blurry": "This photo is too blurry to show spots or redness, so it cannot be judged. Hold the phone steady "
    "and take it again.",
    "too_dark": "This photo is too dark to show spots or redness, so it cannot be judged. Take it again in "
    "daylight or good indoor light.",
    "no_face": "No face was found in this photo, so it cannot show that the skin is clear. Take a photo of your "
    "whole face.",
    "lesions_found": "The face looked healthy to the model overall, but it counted many spots that look like "
    "acne lesions.",
}


def default_thresholds() -> dict:
    return {
        "uncertain": 0.5,
        "margin": 0.0,
        "reject": 0.5,
        "min_skin_ratio_any": MIN_SKIN_RATIO_ANY,
        "min_skin_ratio_no_face": MIN_SKIN_RATIO_NO_FACE,
        "min_gray_std": MIN_GRAY_STD,
        "max_laplacian_var": MAX_LAPLACIAN_VAR,
        "min_judge_side": MIN_JUDGE_SIDE,
        "min_sharpness": MIN_SHARPNESS,
        "min_luma": MIN_LUMA,
        "refuse_small_faces": True,
        # a model that stored none (v6.1) gets the rule; only a model whose photos have no faces at all (the
        # test suite's generated skin) stores False
        "healthy_needs_face": True,
        "max_feature_distance": None,  # models trained before the distance check have none
        # a photo the model refuses but that shows a face, or at least this share of skin-coloured pixels, is
        # skin it does not know ("unfamiliar_skin", uncertain), not "not a face or skin" (older models: None)
        "min_skin_ratio_unfamiliar": None,
        "sure_not_skin": SURE_NOT_SKIN,
    }


#: The photo-quality gates: measured on photos (bench/degradation.py), not fitted by training, so these values
#: hold for every model, whatever an older artifact stored.
PHOTO_GATES = ("min_judge_side", "min_sharpness", "min_luma", "refuse_small_faces")


def model_thresholds(stored: dict | None) -> dict:
    """A model's thresholds: the defaults, what its artifact stored, then this module's photo-quality gates."""
    defaults = default_thresholds()
    return {**defaults, **(stored or {}), **{k: defaults[k] for k in PHOTO_GATES}}


def signals(pre) -> dict:
    """The image signals the rules use, from a ``preprocess.Preprocessed``."""
    return {
        "face_found": bool(pre.face_found),
        "skin_ratio": float(pre.skin_ratio),
        "no_colour": bool(pre.quality.get("no_colour", False)),
        "gray_std": float(pre.extras.get("gray_std", 255.0)),
        "laplacian_var": float(pre.extras.get("laplacian_var", 0.0)),
        "region_side": float(pre.extras.get("region_side", float("inf"))),
        "mean_luma": float(pre.extras.get("mean_luma", 128.0)),
        "small_face": pre.extras.get("small_face_side") is not None,
    }


def photo_gate(sig: dict, thresholds: dict | None = None) -> str | None:
    """The reason a photo cannot support any verdict (``too_dark``, ``no_colour``, ``too_small``, ``blurry``),
    or None. Checked before the model's outputs: a photo that cannot show lesions gets "can't tell", never
    "healthy" (which would reassure falsely), a condition, or "no skin" when a face is there."""
    t = {**default_thresholds(), **(thresholds or {})}
    # Darkness first: it also drains colourfulness (a dark colour photo is not black and white) and sharpness.
    if sig.get("mean_luma", 255.0) < t["min_luma"]:
        return "too_dark"
    if sig.get("no_colour"):
        return "no_colour"
    # A face is there but has fewer pixels than the model needs to see spots or redness (or to judge "not
    # skin"), or is so small in the frame that it was not cropped: the person is asked to come closer.
    if sig["face_found"] and sig.get("region_side", float("inf")) < t["min_judge_side"]:
        return "too_small"
    if not sig["face_found"] and sig.get("small_face") and t["refuse_small_faces"]:
        return "too_small"
    # After size: a face blown up from few pixels is soft too, and "come closer" is the tip that fixes it.
    if quality.sharpness(sig.get("laplacian_var", float("inf")), sig.get("mean_luma", 255.0)) < t["min_sharpness"]:
        return "blurry"
    return None


def decide(probs, classes, sig: dict, reject: float, thresholds: dict):
    """-> (label, reason code). ``probs``: calibrated probabilities over the conditions ``classes``
    (summing to 1); ``reject``: calibrated probability of "not a face or skin"; ``sig`` from ``signals``,
    with the photo's ``feature_distance`` from the skin photos (``ml.core.ood``) where the model has one."""
    t = {**default_thresholds(), **(thresholds or {})}
    gate = photo_gate(sig, t)
    if gate:
        return core.UNCERTAIN, gate
    far = t["max_feature_distance"] is not None and sig.get("feature_distance", 0.0) >= t["max_feature_distance"]
    if reject >= t["reject"] or far:
        looks_skin = t["min_skin_ratio_unfamiliar"] is not None and (
            sig["face_found"]
            or (sig["skin_ratio"] >= t["min_skin_ratio_unfamiliar"] and reject < t["sure_not_skin"])
        )
        return (core.UNCERTAIN, "unfamiliar_skin") if looks_skin else (core.NO_SKIN, "not_skin")
    if not sig["face_found"]:
        if sig["skin_ratio"] < t["min_skin_ratio_any"]:
            return core.NO_SKIN, "no_skin_pixels"
        if sig["skin_ratio"] < t["min_skin_ratio_no_face"]:
            return core.NO_SKIN, "little_skin"
        if sig["gray_std"] < t["min_gray_std"]:
            return core.NO_SKIN, "flat_image"
        if sig.get("laplacian_var", 0.0) > t["max_laplacian_var"]:
            return core.NO_SKIN, "pixel_noise"
    order = sorted(range(len(classes)), key=lambda i: probs[i], reverse=True)
    top = order[0]
    second = probs[order[1]] if len(order) > 1 else 0.0
    if probs[top] < t["uncertain"] or probs[top] - second < t["margin"]:
        return core.UNCERTAIN, "low_confidence"
    if classes[top] == "healthy" and not sig["face_found"] and t["healthy_needs_face"]:
        return core.UNCERTAIN, NO_FACE_FOR_HEALTHY
    return classes[top], "confident"


def confidence_word(label: str, top_probability: float | None) -> str | None:
    """How sure a result may sound: "likely" (calibrated top probability at least LIKELY_PROBABILITY),
    "possibly" (a class below it), None for a result without a class."""
    if label not in core.CLASSES:
        return None
    if top_probability is not None and top_probability >= LIKELY_PROBABILITY:
        return "likely"
    return "possibly"


def with_lesion_evidence(label: str, reason: str, lesion_count: int | None, healthy_limit: int | None):
    """A photo called healthy on which the lesion readout counts at least ``healthy_limit`` lesions is called
    acne (reason ``lesions_found``): many spots are no reassurance. ``healthy_limit`` None: no such rule
    (a lesion head without a measured limit, or none)."""
    if healthy_limit is not None and label == "healthy" and lesion_count is not None and lesion_count >= healthy_limit:
        return "acne", "lesions_found"
    return label, reason
