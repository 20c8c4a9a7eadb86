"""The OpenVINO runtime computes what the TensorFlow path computes, on the session's tiny real model."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ml.core import artifact, inference, openvino_net
from ml.core.inference import Predictor

from .conftest import REPO
from .synth import face_image, skin_image

pytestmark = pytest.mark.skipif(not openvino_net.available(), reason="OpenVINO is not installed")

CONDITIONS = ("acne", "eczema", "healthy", "rosacea")


@pytest.fixture(scope="module")
def both(tiny_artifact):
    tf = Predictor(tiny_artifact[0], runtime="tensorflow", fast=False)
    ov32 = Predictor(tiny_artifact[0], runtime="openvino", fast=False)
    ov = Predictor(tiny_artifact[0], runtime="openvino", precision="mixed")
    return tf, ov32, ov


def _crops(size, n=12):
    return np.stack([skin_image(CONDITIONS[i % 4], size, seed=i) for i in range(n)])


def _weights(size, n=12):
    """Skin weights at block 4's resolution: soft, with cells of no skin (and one crop with none at all)."""
    hw = size // 16
    w = np.random.default_rng(5).uniform(0.0, 1.0, (n, hw, hw)).astype(np.float32)
    w[:, 0, :] = 0.0
    w[-1] = 0.0
    return w


def test_float32_outputs_equal_the_tensorflow_path(both):
    tf, ov32, _ov = both
    assert (tf.runtime, ov32.runtime, ov32.precision) == ("tensorflow", "openvino", "float32")
    crops, weights = _crops(tf.input_size), _weights(tf.input_size)
    got_all, want_all = ov32.network(crops, weights), tf.network(crops, weights)
    assert got_all.block4 is not None and got_all.block4.shape == want_all.block4.shape
    for got, want in zip(got_all, want_all, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(want).max())))
    with pytest.raises(ValueError, match="skin weights"):
        ov32.network(crops)


def test_the_default_precision_is_int8_where_it_pays(monkeypatch):
    from ml.core.model import load_base_weights

    monkeypatch.delenv("FACEDIAG_INFERENCE_PRECISION", raising=False)
    _base, base_id = load_base_weights(None)
    fallback = "mixed" if inference.bf16_supported() else "f32"
    assert openvino_net.choose_precision(None, base_id) == ("int8" if openvino_net.int8_pays() else fallback)
    assert openvino_net.choose_precision(None, "another base") == fallback  # the recipe fits one base only
    monkeypatch.setenv("FACEDIAG_INFERENCE_PRECISION", "mixed")
    assert openvino_net.choose_precision(None, base_id) == fallback


def test_mixed_precision_keeps_top1_and_labels(both):
    tf, _ov32, ov = both
    mixed = "bfloat16 blocks 1-4, float32 block 5 and head"
    assert ov.precision == (mixed if inference.bf16_supported() else "float32")
    crops, weights = _crops(tf.input_size, 24), _weights(tf.input_size, 24)
    want = tf.network(crops, weights).logits
    got = ov.network(crops, weights).logits
    spread = float(np.ptp(want))
    assert np.abs(got - want).max() <= 0.05 * spread
    ranked = np.sort(want, axis=1)
    clear = (ranked[:, -1] - ranked[:, -2]) > 0.1 * spread  # twice the error bound: cannot swap
    np.testing.assert_array_equal(got.argmax(1)[clear], want.argmax(1)[clear])
    images = [Image.fromarray(skin_image(c, 96, seed=40 + i)) for i, c in enumerate(CONDITIONS)]
    images.append(Image.fromarray(face_image(160)))
    a = tf.predict_many(images, with_heatmap=True)
    b = ov.predict_many(images, with_heatmap=True)
    for x, y in zip(a, b, strict=True):
        if _clear_of_every_threshold(x, tf.thresholds):  # the tiny model's near-ties may flip in bf16
            assert x.label == y.label
        assert y.heatmap_jpeg[:2] == b"\xff\xd8"
        for c in CONDITIONS:
            assert y.probabilities[c] == pytest.approx(x.probabilities[c], abs=0.03)


def _clear_of_every_threshold(result, thresholds, gap=0.05) -> bool:
    """A decision that small numeric differences cannot flip: every score it compares is ``gap`` away from
    its threshold (relative, for the feature distance)."""
    top, second = sorted(result.probabilities.values(), reverse=True)[:2]
    near = [
        abs(top - thresholds["uncertain"]),
        abs(top - second - thresholds["margin"]),
        abs(result.details["reject"] - thresholds["reject"]),
    ]
    if thresholds.get("max_feature_distance"):
        near.append(abs(result.details["feature_distance"] / thresholds["max_feature_distance"] - 1))
    return min(near) > gap


def test_all_bf16_variant_and_unknown_precision(both, tiny_artifact):
    from ml.core import artifact
    from ml.core.model import load_base_weights

    tf, _ov32, _ov = both
    _meta, trained, _ = artifact.load(tiny_artifact[0])
    base, _ = load_base_weights(None)
    net = openvino_net.OpenVINONet.for_artifact(
        tf.input_size, base, trained, tf._n_out, precision="bf16", kinds=tf.head_inputs
    )
    crops, weights = _crops(tf.input_size, 24), _weights(tf.input_size, 24)
    assert (net(crops, weights).logits.argmax(1) == tf.network(crops, weights).logits.argmax(1)).mean() >= 0.95
    with pytest.raises(ValueError, match="unknown precision"):
        openvino_net.OpenVINONet.for_artifact(tf.input_size, base, trained, tf._n_out, precision="fp8")


def test_single_image_and_batch_give_the_same_answer(both):
    _tf, _ov32, ov = both
    crops, weights = _crops(ov.input_size, 16), _weights(ov.input_size, 16)
    batch = ov.network(crops, weights).logits  # split across the throughput streams
    for i in (0, 7, 15):
        one = ov.network(crops[i : i + 1], weights[i : i + 1]).logits  # the latency request
        np.testing.assert_allclose(one[0], batch[i], atol=1e-2)


def test_a_block5_only_head_from_older_models_runs_the_same_on_both(tiny_artifact, tmp_path):
    """Models before vgg16-skin-v3 read block 5 only (a 512-row first kernel): both runtimes still agree."""
    meta, trained, _extra = artifact.load(tiny_artifact[0])
    older = {**trained, "head_dense/kernel": trained["head_dense/kernel"][:512]}
    meta = {k: v for k, v in meta.items() if k not in ("head_inputs", "distance_input")}
    meta["thresholds"] = {k: v for k, v in meta["thresholds"].items() if k != "max_feature_distance"}
    artifact.save(tmp_path / "older", older, meta)
    tf = Predictor(tmp_path / "older", runtime="tensorflow", fast=False)
    ov32 = Predictor(tmp_path / "older", runtime="openvino", fast=False)
    crops = _crops(tf.input_size)
    for got, want in zip(ov32.network(crops), tf.network(crops), strict=True):
        if want is None:  # maps4: no lesion head, no block4_conv3 output on either runtime
            assert got is None
            continue
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(want).max())))
    assert ov32.predict(Image.fromarray(skin_image("acne", 96, seed=3))).details["feature_distance"] == 0.0


def test_runtime_setting_and_fallback(monkeypatch, tiny_artifact):
    monkeypatch.setenv("FACEDIAG_INFERENCE_RUNTIME", "tensorflow")
    assert inference.choose_runtime() == "tensorflow"
    assert inference.choose_runtime("openvino") == "openvino"
    monkeypatch.setenv("FACEDIAG_INFERENCE_RUNTIME", "onnx")
    with pytest.raises(ValueError, match="unknown inference runtime"):
        inference.choose_runtime()
    monkeypatch.delenv("FACEDIAG_INFERENCE_RUNTIME")
    assert inference.choose_runtime() == "openvino"
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed: import fails
    assert not openvino_net.available()
    assert inference.choose_runtime("openvino") == "tensorflow"
    assert Predictor(tiny_artifact[0]).runtime == "tensorflow"


def test_openvino_worker_path_never_imports_tensorflow(tiny_artifact):
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "from ml.core.inference import Predictor\n"
        "from ml.tests.synth import face_image\n"
        f"p = Predictor({str(tiny_artifact[0])!r}, runtime='openvino')\n"
        "r = p.predict(Image.fromarray(face_image(160)))\n"
        "assert r.heatmap_jpeg and r.label\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF imported'\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_int8_recipe_builds_an_int8_trunk_that_agrees(both, tiny_artifact, monkeypatch):
    """The committed recipe (made for the committed base) on the tiny model: int8 blocks 1-4, float32 top."""
    from ml.core import artifact
    from ml.core.model import load_base_weights

    tf, _ov32, _ov = both
    _meta, trained, _ = artifact.load(tiny_artifact[0])
    base, base_id = load_base_weights(None)
    recipe = openvino_net.int8_recipe(base_id)
    assert recipe is not None and str(recipe["meta/base_weights_id"]) == base_id
    assert openvino_net.int8_recipe("another base") is None
    trunk = openvino_net.build_model(tf.input_size, base, trained, tf._n_out, part="trunk", int8=recipe)
    kinds = {op.get_type_name() for op in trunk.get_ordered_ops()}
    assert "FakeQuantize" in kinds
    assert any(str(op.get_output_element_type(0)) == "<Type: 'int8_t'>" for op in trunk.get_ordered_ops())
    crops, weights = _crops(tf.input_size, 24), _weights(tf.input_size, 24)
    if openvino_net.choose_precision("int8", base_id) == "int8":  # int8 pays on this CPU
        net = openvino_net.OpenVINONet.for_artifact(
            tf.input_size, base, trained, tf._n_out, precision="int8", base_id=base_id, kinds=tf.head_inputs
        )
        assert net.dtype.startswith("int8")
        got, want = net(crops, weights).logits, tf.network(crops, weights).logits
        # The tiny model's logits sit close together and its weights vary a little from session to session
        # (threaded training), so near-ties may swap under quantisation (top-1 agreement seen 0.875-1.0 on
        # 24 crops). What must hold: the logits stay close, so every clear decision stays the same.
        spread = float(np.ptp(want))
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] >= 0.98
        assert np.abs(got - want).max() <= 0.15 * spread
        ranked = np.sort(want, axis=1)
        clear = (ranked[:, -1] - ranked[:, -2]) > 0.3 * spread  # twice the error bound: cannot swap
        np.testing.assert_array_equal(got.argmax(1)[clear], want.argmax(1)[clear])
    monkeypatch.setenv("FACEDIAG_INFERENCE_PRECISION", "int8")
    assert openvino_net.choose_precision(None, "another base") in ("mixed", "f32")  # no recipe: no int8
