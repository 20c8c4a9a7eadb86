"""A photo that cannot show lesions gets "can't tell" with the reason that names the problem (issue 29)."""

import cv2
import numpy as np
import pytest
from PIL import Image

from ml.core import decision, preprocess
from ml.core.inference import Predictor

from .conftest import SAMPLES

CLASSES = ["acne", "eczema", "healthy", "rosacea"]
SURE_HEALTHY = [0.001, 0.001, 0.997, 0.001]
SURE_ACNE = [0.997, 0.001, 0.001, 0.001]


def _astronaut() -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / "astronaut_face.jpg").convert("RGB"))


def _face(**over) -> dict:
    """The signals of a sharp, well-lit face filling the photo, as the bench measured them at full quality."""
    return {"face_found": True, "skin_ratio": 0.8, "no_colour": False, "gray_std": 45.0, "laplacian_var": 65.0,
            "region_side": 264.0, "mean_luma": 110.0, "small_face": False, "feature_distance": 300.0, **over}


def decide(sig, probs=SURE_HEALTHY, reject=0.01):
    return decision.decide(probs, CLASSES, sig, reject, decision.model_thresholds({"uncertain": 0.4}))


def test_the_measured_thresholds_refuse_below_and_judge_above():
    """Inputs just either side of each threshold (values as bench/degradation.py measures them)."""
    assert decide(_face()) == ("healthy", "confident")
    just_below = {"laplacian_var": decision.MIN_SHARPNESS * 0.95, "mean_luma": decision.MIN_LUMA - 1,
                  "region_side": decision.MIN_JUDGE_SIDE - 1}
    reasons = {"laplacian_var": "blurry", "mean_luma": "too_dark", "region_side": "too_small"}
    for key, value in just_below.items():
        for probs in (SURE_HEALTHY, SURE_ACNE):
            assert decide(_face(**{key: value}), probs) == ("uncertain", reasons[key]), key
        above = {"laplacian_var": decision.MIN_SHARPNESS * 1.05, "mean_luma": decision.MIN_LUMA + 1,
                 "region_side": decision.MIN_JUDGE_SIDE + 1}[key]
        assert decide(_face(**{key: above})) == ("healthy", "confident"), key


def test_no_reassurance_and_no_no_skin_from_a_photo_that_cannot_show_the_skin():
    dark = _face(mean_luma=decision.MIN_LUMA / 2, no_colour=True, laplacian_var=1.0)  # darkness drains both
    assert decide(dark) == ("uncertain", "too_dark")  # not "colour needed": it is a colour photo, only dark
    # A face is there, so the model's "not skin" output does not make it "no skin".
    assert decide(_face(laplacian_var=1.0), reject=0.999) == ("uncertain", "blurry")
    # A face too small in the frame to be cropped: no face box, but a face; not "no skin", whatever the crop shows.
    tiny_in_frame = _face(face_found=False, small_face=True, region_side=1008.0, skin_ratio=0.9)
    assert decide(tiny_in_frame) == ("uncertain", "too_small")
    assert decide(tiny_in_frame, reject=0.999) == ("uncertain", "too_small")
    # A small face blown up is soft too: "come closer" is the tip that fixes both.
    assert decide(_face(region_side=decision.MIN_JUDGE_SIDE - 1, laplacian_var=1.0)) == ("uncertain", "too_small")
    # A close-up without a face is judged on sharpness and light all the same.
    assert decide(_face(face_found=False, laplacian_var=1.0)) == ("uncertain", "blurry")
    assert decide(_face(face_found=False, mean_luma=5.0)) == ("uncertain", "too_dark")
    # A black-and-white photo in good light is still "colour needed".
    assert decide(_face(no_colour=True)) == ("uncertain", "no_colour")


def test_healthy_needs_a_face_but_a_condition_does_not():
    """A close-up or a wall with no face found reads "healthy" because nothing in it looks like a lesion: that
    is no reassurance. A condition seen without a face (a skin close-up) is still said."""
    no_face = _face(face_found=False, region_side=1008.0)
    assert decide(no_face) == ("uncertain", "no_face")
    assert decide(no_face, SURE_ACNE) == ("acne", "confident")
    assert decide(_face()) == ("healthy", "confident")
    # the ungated curve (bench/degradation.py) and an artifact that stored otherwise
    assert decision.decide(SURE_HEALTHY, CLASSES, no_face, 0.01, {"uncertain": 0.4, **decision.NO_QUALITY_GATES}) \
        == ("healthy", "confident")
    assert decision.model_thresholds({"uncertain": 0.4})["healthy_needs_face"] is True  # v6.1 stored none
    assert decision.model_thresholds({"healthy_needs_face": False})["healthy_needs_face"] is False


def test_the_gates_hold_whatever_an_artifact_stored():
    """vgg16-skin-v6 stored min_judge_side 80 before it was measured; the code's measured gates win."""
    t = decision.model_thresholds({"min_judge_side": 80.0, "min_sharpness": 0.0, "uncertain": 0.4})
    assert t["min_judge_side"] == decision.MIN_JUDGE_SIDE and t["min_sharpness"] == decision.MIN_SHARPNESS
    assert t["uncertain"] == 0.4
    off = {**t, **decision.NO_QUALITY_GATES}
    assert decision.photo_gate(_face(laplacian_var=0.5, mean_luma=3.0, region_side=10.0), off) is None


def _gate(rgb: np.ndarray) -> str | None:
    return decision.photo_gate(decision.signals(preprocess.preprocess(rgb, size=64)))


def test_a_real_blurred_and_a_real_darkened_face_through_preprocessing():
    face = cv2.resize(_astronaut(), (800, 800), interpolation=cv2.INTER_CUBIC)  # a face crop of ~190 px
    assert _gate(face) is None
    assert _gate(cv2.GaussianBlur(face, (0, 0), 8)) == "blurry"
    dark = (face.astype(np.float32) * 0.12).astype(np.uint8)
    pre = preprocess.preprocess(dark, size=64)
    assert pre.quality["no_colour"]  # the colourfulness measure sinks with the light...
    assert _gate(dark) == "too_dark"  # ...but the answer names the darkness


def test_a_face_small_in_a_large_photo_is_found_as_too_small_not_as_no_skin():
    wall = np.full((1600, 1200, 3), (214, 196, 170), np.uint8)  # beige: skin-coloured to the skin mask
    wall[500:900, 300:700] = _astronaut()  # a 73 px face in a 1200 px wide photo (6 %)
    pre = preprocess.preprocess(wall, size=64)
    assert not pre.face_found and pre.extras["small_face_side"] == pytest.approx(73 * 1.1, rel=0.25)
    assert _gate(wall) == "too_small"
    for name in ("chelsea_cat.jpg", "coffee_cup.jpg"):  # no face: no small face either, even blown up
        big = cv2.resize(np.asarray(Image.open(SAMPLES / name).convert("RGB")), (1200, 1200))
        assert preprocess.preprocess(big, size=64).extras["small_face_side"] is None, name


@pytest.fixture(scope="module")
def predictor(tiny_artifact):
    return Predictor(tiny_artifact[0])


def test_the_predictor_answers_cant_tell_with_the_reason(predictor):
    face = cv2.resize(_astronaut(), (800, 800), interpolation=cv2.INTER_CUBIC)
    blurred = predictor.predict(cv2.GaussianBlur(face, (0, 0), 8), with_heatmap=False)
    assert (blurred.label, blurred.reason) == ("uncertain", "blurry")
    assert "too blurry" in blurred.reason_text
    dark = predictor.predict((face.astype(np.float32) * 0.12).astype(np.uint8), with_heatmap=False)
    assert (dark.label, dark.reason) == ("uncertain", "too_dark") and "too dark" in dark.reason_text
    wall = np.full((1600, 1200, 3), (214, 196, 170), np.uint8)
    wall[500:900, 300:700] = _astronaut()
    small = predictor.predict(wall, with_heatmap=False)
    assert (small.label, small.reason) == ("uncertain", "too_small") and small.quality["no_face"]
