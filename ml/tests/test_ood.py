"""The "not skin" feature distance: its statistics, the pooling it reads, the rule, and the real model path."""

import numpy as np
import pytest
from PIL import Image

from ml.core import decision, ood
from ml.core.inference import Predictor
from ml.core.model import build_top, random_base_weights

from .synth import skin_image

SIG = {"face_found": True, "skin_ratio": 0.5, "no_colour": False, "gray_std": 40.0, "laplacian_var": 100.0}


def test_photos_far_from_every_condition_score_higher():
    rng = np.random.default_rng(0)
    centres = rng.gamma(2.0, 2.0, (4, 512))
    y = rng.integers(0, 4, 2000)
    skin = np.maximum(centres[y] + rng.normal(0, 0.5, (2000, 512)), 0)
    stats = ood.fit(skin, y, 4)
    near = np.maximum(centres[[0, 1, 2, 3]] + rng.normal(0, 0.5, (4, 512)), 0)
    far = rng.gamma(2.0, 2.0, (4, 512))  # features of some other kind of photo
    assert ood.score(far, stats).min() > 3 * ood.score(near, stats).max()
    assert stats["means"].shape == (4, 512) and stats["precision"].dtype == np.float32


@pytest.mark.parametrize("input_size", [224, 32, 48])
def test_pooling_from_the_conv_maps_equals_the_heads_input(input_size):
    """``pooled_from_conv`` (what the worker computes from the forward pass) is Keras' block5_pool + GAP."""
    import keras

    top = build_top(input_size, 5, random_base_weights(1))
    conv_and_gap = keras.Model(top.input, [top.get_layer("block5_conv3").output, top.get_layer("gap").output])
    hw = input_size // 16
    block4 = np.random.default_rng(2).gamma(1.0, 1.0, (3, hw, hw, 512)).astype(np.float32)
    conv, gap = (t.numpy() for t in conv_and_gap(block4))
    np.testing.assert_allclose(ood.pooled_from_conv(conv), gap, rtol=1e-5, atol=1e-5)


def test_a_photo_beyond_the_distance_threshold_is_not_skin():
    t = {**decision.default_thresholds(), "uncertain": 0.4, "margin": 0.1, "max_feature_distance": 500.0}
    probs, classes = [0.9, 0.05, 0.03, 0.02], ["a", "b", "c", "d"]
    assert decision.decide(probs, classes, {**SIG, "feature_distance": 499.0}, 0.0, t) == ("a", "confident")
    assert decision.decide(probs, classes, {**SIG, "feature_distance": 500.0}, 0.0, t) == ("no_skin", "not_skin")
    # models without the statistics (threshold None) never refuse on distance
    old = {**t, "max_feature_distance": None}
    assert decision.decide(probs, classes, {**SIG, "feature_distance": 1e9}, 0.0, old)[0] == "a"


def test_the_predictor_measures_the_distance_and_refuses_beyond_the_trained_threshold(tiny_artifact):
    out, meta, _ = tiny_artifact
    pred = Predictor(out)
    image = Image.fromarray(skin_image("acne", 96, seed=7))
    result = pred.predict(image, with_heatmap=False)
    assert result.details["feature_distance"] > 0
    assert pred.thresholds["max_feature_distance"] == meta["thresholds"]["max_feature_distance"]
    # the same photo with the threshold just below its distance: refused. It is mostly skin-coloured, so it
    # is skin the model does not know (no class); with less skin than the fitted bound, "not a face or skin"
    pred.thresholds = {**pred.thresholds, "max_feature_distance": result.details["feature_distance"] - 0.5,
                       "min_skin_ratio_unfamiliar": result.details["skin_ratio"] - 0.01}
    refused = pred.predict(image, with_heatmap=False)
    assert (refused.label, refused.reason) == ("uncertain", "unfamiliar_skin")
    pred.thresholds = {**pred.thresholds, "min_skin_ratio_unfamiliar": result.details["skin_ratio"] + 0.01}
    refused = pred.predict(image, with_heatmap=False)
    assert (refused.label, refused.reason) == ("no_skin", "not_skin")
