"""Training end to end on generated images, and the held-out-source machinery it relies on."""

import json

import numpy as np
import pytest

from ml.core import artifact, calibration, decision, train
from ml.core.data import REJECT_LABEL, Item
from ml.core.evaluate import evaluate
from ml.core.inference import Predictor
from ml.core.model import build_top
from ml.core.training import calibrate, features, head, prepare, selection


def test_training_writes_a_complete_head_only_artifact(tiny_artifact):
    out, meta, evaluation = tiny_artifact
    for name in ("model.npz", "metadata.json", "evaluation.json", "evaluation.txt", "heldout_test.csv"):
        assert (out / name).is_file(), name
    assert meta["classes"] == ["acne", "eczema", "healthy", "rosacea"]
    assert meta["reject_class"] == REJECT_LABEL
    assert meta["input_size"] == 32
    for key in ("base_weights_id", "temperature", "reject_temperature", "thresholds", "data_summary", "git_commit"):
        assert key in meta
    assert 0.0 < meta["thresholds"]["reject"] < 1.0
    assert meta["data_summary"]["n_images"] == 48  # 40 skin + 8 negatives
    assert meta["head_inputs"] == ["skin5", "skin4"] and meta["distance_input"] == "skin5"
    assert meta["thresholds"]["max_feature_distance"] > 0
    # only the head is stored (the base, block 5 included, comes from ml/weights), with the skin photos'
    # feature statistics for the distance check
    with np.load(out / "model.npz") as z:
        head = {"head_dense/kernel", "head_dense/bias", "head_logits/kernel", "head_logits/bias"}
        assert set(z.files) == head | {"extra/ood_means", "extra/ood_precision"}
        assert z["head_dense/kernel"].shape == (1024, 256)  # block-5 and block-4 pooled features
        assert z["head_logits/kernel"].shape == (256, 5) and z["head_dense/kernel"].dtype == np.float16
        assert z["extra/ood_means"].shape == (4, 512) and z["extra/ood_precision"].shape == (512, 512)


def test_evaluation_reports_held_out_sources_next_to_the_in_source_split(tiny_artifact):
    _out, _meta, evaluation = tiny_artifact
    loso = evaluation["leave_one_source_out"]
    assert set(loso["per_source"]) == {"src0", "src1"}
    assert loso["n"] == 40 and np.array(loso["confusion_matrix"]["matrix"]).sum() == 40
    assert set(loso["refusal"]) == {"neg0", "neg1", "all"}
    assert "per_tone" in loso
    assert evaluation["in_source_split"]["n"] > 0
    assert set(evaluation["face_detection_rate"]) == {"src0", "src1", "neg0", "neg1"}


def test_the_cached_training_features_are_vgg16_pooled_features(tiny_dataset):
    """The feature cache runs on OpenVINO in this CPU's fastest faithful precision (bf16, else int8 blocks 1-4,
    else float32): what it stores must be block-5 and block-4 pooling over the skin weights of the float32
    network."""
    from ml.core.data import collect
    from ml.core.inference import FeatureExtractor
    from ml.core.model import load_base_weights, masked_mean
    from ml.core.preprocess import preprocess

    size = 64
    base, base_id = load_base_weights(None)
    pres = [preprocess(it.path, size=size) for it in collect([tiny_dataset[0]])[:12]]
    crops = np.stack([p.crop for p in pres])
    weights = np.stack([p.skin_weights(size // 16) for p in pres])
    weights[0] = 0.0  # a crop without skin weights pools to zero, never to NaN
    feats = features.PooledFeatures(size, base, 5, base_id=base_id)
    got, maps = feats(crops, weights)
    assert feats.dtype.startswith("OpenVINO") and maps is None

    block4 = FeatureExtractor(size, base, fast=False)(crops)  # float32 TensorFlow
    import tensorflow as tf

    top = build_top(size, 5, base, n_features=features.HEAD_FEATURES, kinds=("skin5", "skin4"))
    conv5 = tf.keras.Model(top.inputs[0], top.get_layer("block5_conv3").output)(block4, training=False).numpy()
    want = {"skin5": masked_mean(conv5, weights), "skin4": masked_mean(block4, weights)}
    assert np.isfinite(got["skin5"]).all() and not got["skin5"][0].any()
    for kind in features.POOLED_KINDS:
        assert got[kind].shape == (len(crops), 512)
        relative = np.linalg.norm(got[kind] - want[kind]) / np.linalg.norm(want[kind])
        assert relative < (1e-4 if feats.dtype.endswith("float32") else 0.05), (kind, feats.dtype, relative)


def test_held_out_predictions_come_from_a_head_that_never_saw_the_source():
    """Source b alone carries class 1: held out, no head has seen class 1, so none predicts it."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 512))
    items, y = [], []
    for src, label, n in (("a", 0, 30), ("b", 1, 30), ("c", 2, 30)):
        for _ in range(n):
            items.append(Item(f"/x/{src}{len(items)}.jpg", ["acne", "eczema", REJECT_LABEL][label], src))
            y.append(label)
    y = np.array(y)
    pooled = (centres[y] + rng.normal(0, 0.5, (len(y), 512)))[:, None, :].astype(np.float32)
    ds = prepare.Dataset(items, [None] * len(items), ["acne", "eczema"], y)
    oof = selection.leave_one_source_out(ds, pooled, (15, 0.2, 0.0), seed=0, clock=lambda *_: None)
    assert (oof[y == 1].argmax(1) != 1).all()
    # the same features in training are learnt: the head is able to separate them when it sees them
    x, yy, ss = head.train_rows(pooled, y, ds.sources, np.arange(len(y)))
    w = head.fit_head(x, yy, head.sample_weights(yy, ss, 3), 3, (15, 0.2, 0.0), seed=0)
    assert (head.head_logits(w, pooled[:, 0]).argmax(1) == y).mean() > 0.95


def test_the_standardised_head_folds_into_a_head_on_raw_features():
    rng = np.random.default_rng(3)
    pooled = {"skin5": rng.gamma(2.0, 3.0, (30, 2, 512)), "skin4": rng.gamma(2.0, 40.0, (30, 2, 512))}
    x, mean, std = features.head_features(pooled)
    assert x.shape == (30, 2, 1024) and abs(x.mean()) < 1e-3 and x.reshape(-1, 1024).std(0).mean() == pytest.approx(1)
    weights = {
        "head_dense/kernel": rng.normal(0, 0.05, (1024, 256)),
        "head_dense/bias": rng.normal(0, 0.1, 256),
        "head_logits/kernel": rng.normal(0, 0.1, (256, 5)),
        "head_logits/bias": np.zeros(5),
    }
    raw = np.concatenate([pooled["skin5"][:, 0], pooled["skin4"][:, 0]], axis=1)
    np.testing.assert_allclose(
        head.head_logits(features.fold_standardisation(weights, mean, std), raw),
        head.head_logits(weights, x[:, 0]),
        rtol=1e-4,
        atol=1e-4,
    )


def _two_source_class_features(rng, n=40):
    """Class 0 from sources a and b, which differ along feature 1 (a source's look); class 1 from source c.
    Feature 0 carries the class."""
    y = np.array([0] * (2 * n) + [1] * n)
    sources = np.array(["a"] * n + ["b"] * n + ["c"] * n)
    x = rng.normal(0, 0.3, (3 * n, 16))
    x[:, 0] += np.where(y == 1, 2.0, -2.0)
    x[:, 1] += np.select([sources == "a", sources == "b"], [3.0, -3.0], 0.0)
    return x, y, sources


def test_source_directions_capture_what_tells_sources_apart_inside_a_class():
    x, y, sources = _two_source_class_features(np.random.default_rng(5))
    q = head.source_directions(x, y, sources, np.arange(len(y)))
    assert q.shape == (16, 1) and abs(q[1, 0]) > 0.99  # the a/b offset, and nothing else
    projected = head.project_out(x, q)
    a, b = projected[sources == "a"].mean(0), projected[sources == "b"].mean(0)
    assert np.abs(a - b).max() < 0.2  # the two sources of class 0 now look alike on average
    assert projected[y == 1, 0].mean() - projected[y == 0, 0].mean() > 3.5  # the class signal stays
    # a class with one source, or rows from one source per class, leave nothing to remove
    assert head.source_directions(x, y, sources, np.flatnonzero(sources != "b")).shape == (16, 0)


def test_the_source_projection_folds_into_the_head():
    rng = np.random.default_rng(6)
    x, y, sources = _two_source_class_features(rng)
    q = head.source_directions(x, y, sources, np.arange(len(y)))
    weights = {
        "head_dense/kernel": rng.normal(0, 0.3, (16, 8)),
        "head_dense/bias": rng.normal(0, 0.1, 8),
        "head_logits/kernel": rng.normal(0, 0.3, (8, 3)),
        "head_logits/bias": np.zeros(3),
    }
    np.testing.assert_allclose(
        head.head_logits(head.fold_projection(weights, q), x),
        head.head_logits(weights, head.project_out(x, q)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_a_head_trained_blind_to_sources_decides_on_what_the_sources_of_a_class_share():
    """Feature 0 carries the class; feature 1 is a source's look: class 0 comes from sources with looks +3
    and 0, class 1 from sources with looks 0 and -3. A new class-0 source with look -3 and a weaker class
    signal is called class 1 by a head that may use the look, and class 0 by a head blind to it."""
    rng = np.random.default_rng(7)
    cells = (("a", 0, 3.0), ("b", 0, 0.0), ("c", 1, 0.0), ("d", 1, -3.0))
    x = rng.normal(0, 0.3, (4 * 60, 16))
    y = np.repeat([c for _, c, _ in cells], 60)
    sources = np.repeat([s for s, _, _ in cells], 60)
    x[:, 0] += np.where(y == 1, 1.5, -1.5)
    x[:, 1] += np.repeat([look for *_, look in cells], 60)
    new_source = rng.normal(0, 0.3, (50, 16))
    new_source[:, 0] -= 0.7
    new_source[:, 1] -= 3.0
    items = [
        Item(f"/x/{s}{i}.jpg", "acne" if c == 0 else REJECT_LABEL, s)
        for i, (s, c) in enumerate(zip(sources, y, strict=True))
    ]
    ds = prepare.Dataset(items, [None] * len(items), ["acne"], y)
    blind, removed = head.train_head(x[:, None, :].astype(np.float32), ds, np.arange(len(y)), (30, 0.0, 0.0), 0)
    seeing = head.fit_head(x, y, np.ones(len(y), np.float32), 2, (30, 0.0, 0.0), seed=0)
    assert removed in (1, 2)  # the shared look, and at most one noise direction (each class gives one)
    assert (head.head_logits(blind, new_source).argmax(1) == 0).mean() > 0.9
    assert (head.head_logits(seeing, new_source).argmax(1) == 0).mean() < 0.5


def _selection_entry(macro_f1, setting, group_healthy):
    rep = {"per_utkface_group": {g: {"called": {"healthy": h}} for g, h in group_healthy.items()}}
    return (macro_f1, setting, None, None, rep)


def test_the_head_setting_is_the_best_that_calls_every_real_face_group_healthy():
    sharper = _selection_entry(0.61, "sharper", {"white": 0.84, "black": 0.83, "asian": 0.92})
    safer = _selection_entry(0.60, "safer", {"white": 0.86, "black": 0.87, "asian": 0.95})
    assert selection.choose_head_setting([sharper, safer])[1] == "safer"
    assert selection.lowest_group_healthy(sharper[-1]) == 0.83
    # when no setting is safe enough, macro-F1 decides; without UTKFace in the data, too
    assert selection.choose_head_setting([sharper, _selection_entry(0.5, "worse", {"white": 0.8})])[1] == "sharper"
    assert selection.choose_head_setting([(0.5, "a", None, None, {}), (0.6, "b", None, None, {})])[1] == "b"


def test_the_head_setting_treats_the_groups_alike_when_one_can():
    uneven = _selection_entry(0.60, "uneven", {"white": 0.857, "black": 0.871, "other": 0.966})
    even = _selection_entry(0.58, "even", {"white": 0.88, "black": 0.87, "other": 0.95})
    below_floor = _selection_entry(0.65, "below floor", {"white": 0.84, "other": 0.90})
    assert round(selection.group_healthy_gap(uneven[-1]), 3) == 0.109
    assert selection.choose_head_setting([uneven, even, below_floor])[1] == "even"
    # when every setting above the floor is uneven, the floor still outranks macro-F1
    assert selection.choose_head_setting([uneven, below_floor])[1] == "uneven"
    assert selection.group_healthy_gap({}) is None


def test_sample_weights_balance_classes_and_damp_large_sources():
    y = np.array([0] * 90 + [0] * 10 + [1] * 20)
    sources = ["big"] * 90 + ["small"] * 10 + ["other"] * 20
    w = head.sample_weights(y, sources, 2)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())
    big, small = w[:90].sum(), w[90:100].sum()
    assert big / small == pytest.approx(np.sqrt(90 / 10))  # not 9x: square-root damping


def test_calibration_is_fitted_so_few_non_skin_photos_pass():
    rng = np.random.default_rng(1)
    n_skin, n_neg = 200, 100
    logits = np.zeros((n_skin + n_neg, 5))
    y = np.concatenate([rng.integers(0, 4, n_skin), np.full(n_neg, 4)])
    logits[np.arange(len(y)), y] = rng.normal(3, 1.5, len(y))  # mostly right, some overlap
    pres = [type("P", (), {"skin_ratio": 0.5, "face_found": True, "quality": {}, "extras": {}})()] * len(y)
    items = [Item(f"/x/{i}.jpg", "acne", "s") for i in range(len(y))]
    ds = prepare.Dataset(items, pres, ["acne", "eczema", "healthy", "rosacea"], y)
    cal = calibrate.fit_calibration(ds, logits)
    cond, reject = calibration.split_scores(logits, 4, cal["temperature"], cal["reject_temperature"])
    assert (reject[y == 4] < cal["thresholds"]["reject"]).mean() <= 0.031  # at most 3% of non-skin get through
    assert 0.35 <= cal["thresholds"]["uncertain"] <= 0.8
    assert cal["thresholds"]["margin"] >= calibrate.MIN_MARGIN  # a near tie is never a verdict


def test_the_relaxed_reject_threshold_stops_short_of_switching_the_reject_output_off():
    # non-skin scores that saturate to 1.0 in float32 (a tiny model on generated images) and a distance check
    # that catches them all: relaxing as far as 1.0 would refuse nothing by the reject output any more
    y = np.array([0, 1, 2, 3] * 5 + [4] * 10)
    cond = np.full((len(y), 4), 0.25)
    reject = np.where(y == 4, 1.0, 0.01)
    distances = np.where(y == 4, 50.0, 1.0)
    pres = [type("P", (), {"skin_ratio": 0.5, "face_found": True, "quality": {}, "extras": {}})()] * len(y)
    ds = prepare.Dataset([Item(f"/x/{i}.jpg", "acne", "s") for i in range(len(y))], pres,
                         ["acne", "eczema", "healthy", "rosacea"], y)
    thresholds = {**decision.default_thresholds(), "reject": 0.5, "max_feature_distance": 10.0}
    relaxed = calibrate.relaxed_reject(ds, cond, reject, thresholds, distances)
    assert relaxed == calibrate.MAX_REJECT_THRESHOLD < 1.0


def test_fine_tuning_block5_stores_it_in_the_artifact(tiny_dataset, tmp_path):
    data, negatives = tiny_dataset
    out = tmp_path / "ft"
    meta, _ = train.train(
        [data],
        out,
        negative_dirs=[negatives],
        input_size=32,
        views=1,
        head_grid=((5, 0.2, 0.0),),
        fine_tune_epochs=1,
        log=lambda *_: None,
    )
    assert meta["trained_layers"].startswith("block5 + head")
    with np.load(out / "model.npz") as z:
        assert "block5_conv3/kernel" in z.files
    assert Predictor(out).predict_many([next((data / "acne").glob("*.jpg"))])[0].label


def test_evaluate_counts_abstentions_and_reports_per_source_and_tone(tiny_artifact, tiny_dataset):
    out, _meta, _ = tiny_artifact
    pred = Predictor(out)
    seen = []
    rep = evaluate(pred, [tiny_dataset[0]], progress=lambda d, t: seen.append((d, t)))
    assert rep["n"] == 40 and seen[-1] == (40, 40)
    assert np.array(rep["confusion_matrix"]["matrix"]).sum() == 40  # abstentions have their own columns
    assert set(rep["per_source"]) == {"src0", "src1"}
    assert "per_tone" in rep and 0.0 <= rep["ece"] <= 1.0
    assert rep["accuracy"] > 0.5  # the tiny model learns the generated classes


def test_artifact_round_trip(tmp_path, tiny_artifact):
    out, _meta, _ = tiny_artifact
    meta, weights, extra = artifact.load(out)
    artifact.save(tmp_path / "copy", weights, meta, extra_arrays=extra)
    meta2, weights2, _ = artifact.load(tmp_path / "copy")
    assert meta2["classes"] == meta["classes"] and meta2["temperature"] == meta["temperature"]
    for k in weights:
        np.testing.assert_array_equal(weights[k], weights2[k])


def test_corrupt_or_incomplete_artifact_is_rejected(tmp_path, tiny_artifact):
    import shutil

    out, _meta, _ = tiny_artifact
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "model.npz").write_bytes(b"garbage")
    with pytest.raises(artifact.ArtifactError):
        artifact.load(bad)
    (bad / "model.npz").unlink()
    with pytest.raises(artifact.ArtifactError):
        artifact.load(bad)
    wrong_head = tmp_path / "wrong"
    shutil.copytree(out, wrong_head)
    meta = json.loads((wrong_head / "metadata.json").read_text())
    meta["reject_class"] = None  # 5 outputs but 4 classes declared
    (wrong_head / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(artifact.ArtifactError):
        artifact.load(wrong_head)
