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


def test_uncertain_threshold_selection():
    # correct predictions are confident, wrong ones are not
    probs = np.array([[0.95, 0.05]] * 80 + [[0.55, 0.45]] * 20)
    y = np.array([0] * 80 + [1] * 20)
    t = calibration.choose_uncertain_threshold(probs, y, target_accuracy=0.95, min_coverage=0.5)
    assert 0.55 < t <= 0.95
    # coverage cap: never abstains on more than 1 - min_coverage
    t2 = calibration.choose_uncertain_threshold(probs, y, target_accuracy=0.99, min_coverage=0.9)
    assert t2 <= 0.55


def _sig(face, skin, std=40.0, lap=300.0):
    return {"face_found": face, "skin_ratio": skin, "gray_std": std, "laplacian_var": lap}


def test_decide_uncertain_below_threshold_and_confident_above():
    classes = ["acne", "eczema", "healthy", "rosacea"]
    th = {"uncertain": 0.6, "ood": 0.5}
    label, _ = decision.decide([0.4, 0.3, 0.2, 0.1], classes, _sig(True, 0.6), 0.1, th)
    assert label == "uncertain"
    label, _ = decision.decide([0.7, 0.1, 0.1, 0.1], classes, _sig(True, 0.6), 0.1, th)
    assert label == "acne"


def test_decide_no_skin_rules():
    classes = ["acne", "eczema", "healthy", "rosacea"]
    th = {"uncertain": 0.6, "ood": 0.5}
    confident = [0.97, 0.01, 0.01, 0.01]

    def label(sig, ood=0.1):
        return decision.decide(confident, classes, sig, ood, th)[0]

    assert label(_sig(True, 0.01)) == "no_skin"  # no skin pixels
    assert label(_sig(False, 0.1)) == "no_skin"  # little skin, no face
    assert label(_sig(False, 0.8, std=1.0)) == "no_skin"  # flat image
    assert label(_sig(False, 0.8, lap=50_000.0)) == "no_skin"  # pixel noise
    assert label(_sig(False, 0.8), ood=0.9) == "no_skin"  # out of distribution
    assert label(_sig(False, 0.8)) == "acne"  # a skin close-up is fine
    assert label(_sig(True, 0.8, lap=50_000.0)) == "acne"  # noise rule only without a face


def test_ood_score_is_zero_at_centroid():
    feats = np.array([[1.0, 0.0], [0.0, 1.0]])
    c = calibration.class_centroids(feats, [0, 1], 2)
    assert calibration.ood_score(feats, c) == pytest.approx([0.0, 0.0])
    assert calibration.ood_score([[1.0, 1.0]], c)[0] == pytest.approx(1 - np.sqrt(0.5))
