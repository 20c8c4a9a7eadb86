import numpy as np
import pytest

from ml.core import calibration, decision


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    n, k = 4000, 4
    true_logits = rng.normal(0, 1.5, (n, k))
    p = calibration.softmax(true_logits)
    y = np.array([rng.choice(k, p=row) for row in p])
    # a model that is 3x overconfident: logits scaled by 3 -> fitted T close to 3
    t = calibration.fit_temperature(true_logits * 3.0, y)
    assert t == pytest.approx(3.0, rel=0.1)
    assert calibration.nll(true_logits * 3.0, y, t) < calibration.nll(true_logits * 3.0, y, 1.0)


def test_softmax_with_temperature():
    p = calibration.softmax([[2.0, 0.0]], temperature=2.0)
    assert p[0, 0] == pytest.approx(np.exp(1) / (np.exp(1) + 1))
    assert p.sum() == pytest.approx(1.0)


def _sig(face, skin, std=40.0, lap=300.0, no_colour=False):
    return {"face_found": face, "skin_ratio": skin, "gray_std": std, "laplacian_var": lap, "no_colour": no_colour}


CLASSES = ["acne", "eczema", "healthy", "rosacea"]


def test_decide_uncertain_below_threshold_or_margin_and_confident_above():
    th = {"uncertain": 0.6, "margin": 0.2, "reject": 0.5}
    assert decision.decide([0.4, 0.3, 0.2, 0.1], CLASSES, _sig(True, 0.6), 0.1, th) == ("uncertain", "low_confidence")
    assert decision.decide([0.7, 0.1, 0.1, 0.1], CLASSES, _sig(True, 0.6), 0.1, th) == ("acne", "confident")
    # "Eczema 50% / Acne 48%" is not a verdict: the top class must be clearly ahead
    assert decision.decide([0.48, 0.5, 0.01, 0.01], CLASSES, _sig(True, 0.6), 0.1, {**th, "uncertain": 0.4})[0] == (
        "uncertain"
    )


def test_decide_refusals_and_their_reasons():
    th = {"uncertain": 0.6, "reject": 0.5}
    confident = [0.97, 0.01, 0.01, 0.01]

    def decide(sig, reject=0.1):
        return decision.decide(confident, CLASSES, sig, reject, th)

    assert decide(_sig(True, 0.8, no_colour=True)) == ("uncertain", "no_colour")  # never a class without colour
    assert decide(_sig(True, 0.8), reject=0.9) == ("no_skin", "not_skin")  # the model's reject output
    assert decide(_sig(False, 0.01)) == ("no_skin", "no_skin_pixels")
    assert decide(_sig(False, 0.1)) == ("no_skin", "little_skin")
    assert decide(_sig(False, 0.8, std=1.0)) == ("no_skin", "flat_image")
    assert decide(_sig(False, 0.8, lap=50_000.0)) == ("no_skin", "pixel_noise")
    assert decide(_sig(False, 0.8)) == ("acne", "confident")  # a skin close-up is fine
    assert decide(_sig(True, 0.01)) == ("acne", "confident")  # a found face is judged whatever the skin mask says
    # A face too small to judge (its crop under MIN_JUDGE_SIDE pixels) gets no class: "retake closer".
    tiny, small = {"region_side": 55.0}, {"region_side": 95.0}
    assert decide({**_sig(True, 0.8), **tiny}) == ("uncertain", "too_small")
    assert decide({**_sig(True, 0.8), **small}) == ("acne", "confident")  # small (a warning) but judged
    assert decide({**_sig(False, 0.8), **tiny}) == ("acne", "confident")  # a small skin close-up, no face
    assert decide({**_sig(True, 0.8, no_colour=True), **tiny}) == ("uncertain", "no_colour")
    assert decide({**_sig(True, 0.8), **tiny}, reject=0.9) == ("uncertain", "too_small")  # a face was found
    assert set(decision.REASONS) >= {"confident", "low_confidence", "no_colour", "not_skin", "too_small"}


def test_split_scores_conditions_and_reject():
    logits = np.array([[2.0, 0.0, 0.0, 0.0, 5.0], [2.0, 0.0, 0.0, 0.0, -5.0]])
    cond, reject = calibration.split_scores(logits, 4, temperature=1.0, reject_temperature=1.0)
    np.testing.assert_allclose(cond[0], cond[1])  # conditions ignore the reject logit
    assert cond.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert reject[0] > 0.9 > 0.01 > reject[1]
