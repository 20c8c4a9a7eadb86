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
    assert decide({**_sig(True, 0.8), **small}) == ("uncertain", "too_small")  # 128 px since issue 29
    assert decide({**_sig(True, 0.8), "region_side": 140.0}) == ("acne", "confident")
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


def test_a_refused_photo_of_skin_is_skin_the_model_does_not_know():
    """A close-up of skin (or a face) that the model or the distance refuses is not "not a face or skin"."""
    th = {"uncertain": 0.6, "reject": 0.5, "max_feature_distance": 100.0, "min_skin_ratio_unfamiliar": 0.5}
    confident = [0.97, 0.01, 0.01, 0.01]
    far = {**_sig(False, 0.8), "feature_distance": 150.0}
    assert decision.decide(confident, CLASSES, far, 0.1, th) == ("uncertain", "unfamiliar_skin")
    assert decision.decide(confident, CLASSES, _sig(False, 0.8), 0.9, th) == ("uncertain", "unfamiliar_skin")
    assert decision.decide(confident, CLASSES, _sig(True, 0.2), 0.9, th) == ("uncertain", "unfamiliar_skin")
    assert decision.decide(confident, CLASSES, _sig(False, 0.3), 0.9, th) == ("no_skin", "not_skin")  # a dog
    # skin-coloured but refused with near certainty (a ginger cat): not skin; a face stays a face
    sure = decision.SURE_NOT_SKIN
    assert decision.decide(confident, CLASSES, _sig(False, 0.98), sure, th) == ("no_skin", "not_skin")
    assert decision.decide(confident, CLASSES, _sig(True, 0.98), sure, th) == ("uncertain", "unfamiliar_skin")
    older = {k: v for k, v in th.items() if k != "min_skin_ratio_unfamiliar"}  # models before the rule
    assert decision.decide(confident, CLASSES, _sig(False, 0.8), 0.9, older) == ("no_skin", "not_skin")


def test_adaptive_temperature_is_less_confident_far_from_the_skin_photos():
    """Held-out photos far from the training photos are right less often than near ones at the same logits:
    one temperature is over-confident on the far ones and under-confident on the near ones; a temperature per
    photo from its feature distance is neither."""
    rng = np.random.default_rng(1)
    n, k = 6000, 4
    distance = rng.uniform(100, 3000, n)
    face = rng.random(n) < 0.5
    logits = rng.normal(0, 3.0, (n, k))
    true_t = (distance / 500.0) ** 0.7  # the farther, the more the logits overstate the evidence
    y = np.array([rng.choice(k, p=row) for row in calibration.softmax(logits, true_t)])
    signals = calibration.adaptive_signals(distance, face)
    fitted = calibration.fit_adaptive_temperature(logits, y, signals)
    temps = fitted.of(signals)
    assert np.median(temps[distance > 2000]) > 2.0 * np.median(temps[distance < 500])
    assert calibration.AdaptiveTemperature.from_dict(fitted.to_dict()) == fitted
    one = calibration.fit_temperature(logits, y)
    from ml.core.metrics import signed_ece

    far, near = distance > 2000, distance < 600
    per_photo = calibration.softmax(logits, temps)
    single = calibration.softmax(logits, one)
    correct = lambda p: p.argmax(1) == y  # noqa: E731
    assert signed_ece(single[far].max(1), correct(single)[far]) > 0.05  # one temperature: over-confident far
    assert signed_ece(single[near].max(1), correct(single)[near]) < -0.05  # ... and under-confident near
    assert abs(signed_ece(per_photo[far].max(1), correct(per_photo)[far])) < 0.03
    assert abs(signed_ece(per_photo[near].max(1), correct(per_photo)[near])) < 0.03
    with pytest.raises(ValueError, match="signals"):
        calibration.AdaptiveTemperature.from_dict({**fitted.to_dict(), "signals": ["brightness"]})
