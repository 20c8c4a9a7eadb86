"""The rule that makes one result of a scan's photos (ml.core.combine): pure, so tested on plain results."""

from dataclasses import dataclass, field

import pytest

from ml.core import combine as combine_module
from ml.core import decision
from ml.core.combine import PHOTOS_DISAGREE, combine
from ml.core.inference import Prediction

THRESHOLDS = {"uncertain": 0.35, "margin": 0.1}


@dataclass(frozen=True)
class Photo:
    label: str
    probabilities: dict
    reason: str = "confident"
    quality: dict = field(default_factory=lambda: {"blurry": False, "no_face": False})


def probs(acne=0.0, eczema=0.0, healthy=0.0, rosacea=0.0):
    return {"acne": acne, "eczema": eczema, "healthy": healthy, "rosacea": rosacea}


ACNE = Photo("acne", probs(0.7, 0.1, 0.1, 0.1))
ACNE_2 = Photo("acne", probs(0.5, 0.2, 0.2, 0.1))
ROSACEA = Photo("rosacea", probs(0.1, 0.1, 0.1, 0.7))
WALL = Photo("no_skin", probs(0.25, 0.25, 0.25, 0.25), reason="not_skin", quality={"no_face": True})
CUP = Photo("no_skin", probs(0.4, 0.3, 0.2, 0.1), reason="no_skin_pixels", quality={"no_face": True})
GREY = Photo("uncertain", probs(0.1, 0.1, 0.1, 0.7), reason="no_colour", quality={"no_colour": True})
UNSURE = Photo("uncertain", probs(0.3, 0.3, 0.2, 0.2), reason="low_confidence")


@pytest.mark.parametrize("photo", [ACNE, ROSACEA, WALL, GREY, UNSURE], ids=lambda p: f"{p.label}-{p.reason}")
def test_one_photo_keeps_its_own_result(photo):
    result = combine([photo], THRESHOLDS)
    assert (result.label, result.reason) == (photo.label, photo.reason)
    assert result.probabilities == photo.probabilities
    assert result.quality == photo.quality
    assert result.top_probability == max(photo.probabilities.values())
    assert result.counted == (photo.label != "no_skin" and photo.reason not in decision.UNSUPPORTED_REASONS,)


def test_photos_that_agree_give_their_condition_and_the_mean_of_their_probabilities():
    result = combine([ACNE, ACNE_2], THRESHOLDS)
    assert (result.label, result.reason) == ("acne", "confident")
    assert result.probabilities == pytest.approx(probs(0.6, 0.15, 0.15, 0.1))
    assert result.counted == (True, True)


def test_photos_confident_of_different_conditions_are_uncertain():
    result = combine([ACNE, ROSACEA, ACNE_2], THRESHOLDS)
    assert (result.label, result.reason) == ("uncertain", PHOTOS_DISAGREE)
    assert result.probabilities == pytest.approx(probs(1.3 / 3, 0.4 / 3, 0.4 / 3, 0.9 / 3))
    assert PHOTOS_DISAGREE in combine_module.REASONS


def test_without_the_disagreement_rule_the_mean_decides():
    result = combine([ACNE, ROSACEA, ACNE_2], THRESHOLDS, uncertain_on_disagreement=False)
    assert (result.label, result.reason) == ("acne", "confident")  # 0.433 vs 0.3 for rosacea
    assert combine([ACNE, ROSACEA], THRESHOLDS, uncertain_on_disagreement=False).reason == "low_confidence"


def test_a_photo_without_skin_does_not_count_and_does_not_refuse_the_scan():
    result = combine([WALL, ACNE], THRESHOLDS)
    assert (result.label, result.reason) == ("acne", "confident")
    assert result.counted == (False, True)
    assert result.probabilities == ACNE.probabilities  # the wall's flat scores are left out
    assert result.quality == ACNE.quality  # its "no face" is about the wall, not the scan


def test_refused_only_when_no_photo_shows_skin():
    result = combine([CUP, WALL], THRESHOLDS)
    assert (result.label, result.reason) == ("no_skin", "no_skin_pixels")  # the front photo's reason
    assert result.counted == (False, False)
    assert result.quality == {"no_face": True}
    assert result.probabilities == pytest.approx(probs(0.325, 0.275, 0.225, 0.175))


def test_black_and_white_photos_do_not_count_and_alone_leave_the_scan_uncertain():
    assert combine([GREY, ACNE], THRESHOLDS).label == "acne"
    result = combine([WALL, GREY], THRESHOLDS)
    assert (result.label, result.reason) == ("uncertain", "no_colour")
    assert result.quality["no_colour"] is True


def test_a_blurred_dark_or_too_small_photo_does_not_count_and_the_scan_names_its_problem():
    """Issue 29: such a photo's scores (a confident "healthy" from a blurred face) must not reassure."""
    healthy = probs(0.001, 0.001, 0.997, 0.001)
    blurred = Photo("uncertain", healthy, reason="blurry", quality={"blurry": True})
    dark = Photo("uncertain", healthy, reason="too_dark", quality={"too_dark": True})
    far = Photo("uncertain", healthy, reason="too_small", quality={"too_small": True})
    result = combine([blurred, ACNE], THRESHOLDS)
    assert (result.label, result.reason) == ("acne", "confident") and result.counted == (False, True)
    assert result.probabilities == ACNE.probabilities
    assert (combine([blurred, dark], THRESHOLDS).label, combine([blurred, dark], THRESHOLDS).reason) == (
        "uncertain", "blurry")  # the front photo's problem, never "healthy"
    assert combine([WALL, far, dark], THRESHOLDS).reason == "too_small"  # a face is there: not "no skin"


def test_a_healthy_reading_without_a_face_does_not_count():
    """A side photo in which no face was found reads "can't tell" (no_face): its healthy scores must not pull
    the scan towards healthy, so the photo with a face decides."""
    faceless = Photo("uncertain", probs(0.02, 0.02, 0.94, 0.02), reason="no_face", quality={"no_face": True})
    result = combine([ACNE_2, faceless], THRESHOLDS)
    assert result.counted == (True, False)
    assert (result.label, result.probabilities) == ("acne", ACNE_2.probabilities)
    alone = combine([faceless, faceless], THRESHOLDS)
    assert (alone.label, alone.reason) == ("uncertain", "no_face")


def test_photos_unsure_alone_can_be_clear_together():
    left = Photo("uncertain", probs(0.45, 0.40, 0.1, 0.05), reason="low_confidence")  # margin 0.05 < 0.1
    right = Photo("uncertain", probs(0.45, 0.05, 0.1, 0.40), reason="low_confidence")
    result = combine([left, right], THRESHOLDS)
    assert (result.label, result.reason) == ("acne", "confident")  # 0.45 vs 0.225: clearly ahead


def test_a_mean_below_the_floor_or_margin_is_uncertain():
    assert combine([UNSURE, UNSURE], THRESHOLDS).reason == "low_confidence"
    close = Photo("uncertain", probs(0.40, 0.35, 0.15, 0.10), reason="low_confidence")
    assert combine([ACNE_2, close], {"uncertain": 0.35, "margin": 0.2}).label == "uncertain"  # 0.45 vs 0.275
    assert combine([ACNE_2, close], {"uncertain": 0.35, "margin": 0.1}).label == "acne"


def test_quality_flags_of_counted_photos_are_kept():
    blurry = Photo("acne", probs(0.6, 0.2, 0.1, 0.1), quality={"blurry": True, "too_dark": False})
    result = combine([ACNE, blurry], THRESHOLDS)
    assert result.quality == {"blurry": True, "no_face": False, "too_dark": False}


def test_a_scan_has_at_least_one_photo():
    with pytest.raises(ValueError):
        combine([], THRESHOLDS)


def test_predictions_of_the_predictor_are_accepted_as_they_are():
    prediction = Prediction(label="acne", probabilities=probs(0.8, 0.1, 0.05, 0.05), quality={"blurry": False},
                            model_version="m", top_probability=0.8, reason="confident")
    result = combine([prediction, prediction])  # the decision module's default thresholds
    assert result.label == "acne" and result.probabilities == pytest.approx(prediction.probabilities)
