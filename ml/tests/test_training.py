"""Training and evaluation end to end on a tiny generated dataset (32x32 input)."""

import json

import numpy as np

from ml.core import artifact
from ml.core.evaluate import evaluate
from ml.core.inference import Predictor


def test_training_writes_a_complete_artifact(tiny_artifact):
    out, meta, report = tiny_artifact
    for name in ("model.npz", "metadata.json", "evaluation.json", "evaluation.txt", "heldout_test.csv"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metadata.json").read_text())
    assert saved["classes"] == ["acne", "eczema", "healthy", "rosacea"]
    assert saved["input_size"] == 32
    for key in ("base_weights_sha256", "temperature", "thresholds", "data_summary", "metrics", "git_commit"):
        assert key in saved
    assert saved["temperature"] > 0
    assert 0.5 <= saved["thresholds"]["uncertain"] <= 0.9
    assert saved["data_summary"]["n_images"] == 40
    assert set(saved["data_summary"]["face_detection_rate"]) == {"src0", "src1"}
    assert {"accuracy", "macro_f1", "ece", "per_class", "confusion_matrix", "per_source"} <= set(report)


def test_training_accepts_several_data_dirs(tmp_path, base_weights_path):
    from ml.core.train import train

    from .synth import make_dataset

    a = make_dataset(tmp_path / "a", per_class=4, size=48)
    b = make_dataset(tmp_path / "b", per_class=4, size=48, with_manifest=False)
    meta, _ = train(
        [a, b],
        tmp_path / "m",
        epochs=1,
        head_epochs=2,
        input_size=32,
        views=1,
        base_weights_path=base_weights_path,
        log=lambda m: None,
    )
    assert meta["data_summary"]["n_images"] == 32


def test_evaluate_counts_abstentions_and_reports_per_source(tiny_artifact, tiny_dataset, base_weights_path):
    out, _meta, _ = tiny_artifact
    pred = Predictor(out, base_weights_path)
    seen = []
    rep = evaluate(pred, [tiny_dataset], progress=lambda d, t: seen.append((d, t)))
    assert rep["n"] == 40 and seen[-1] == (40, 40)
    cm = np.array(rep["confusion_matrix"]["matrix"])
    assert cm.sum() == 40  # nothing dropped: abstentions have their own columns
    assert set(rep["per_source"]) == {"src0", "src1"}
    assert 0.0 <= rep["ece"] <= 1.0
    # the tiny model learns the generated classes
    assert rep["accuracy"] > 0.5


def test_artifact_round_trip(tmp_path, tiny_artifact):
    out, _meta, _ = tiny_artifact
    meta, weights, extra = artifact.load(out)
    artifact.save(tmp_path / "copy", weights, meta, extra_arrays=extra)
    meta2, weights2, extra2 = artifact.load(tmp_path / "copy")
    assert meta2["classes"] == meta["classes"] and meta2["temperature"] == meta["temperature"]
    for k in weights:
        np.testing.assert_array_equal(weights[k], weights2[k])
    np.testing.assert_allclose(extra["ood_centroids"], extra2["ood_centroids"])
    assert all(v.dtype == np.float16 for v in np.load(out / "model.npz").values() if v.ndim > 1 and v.shape[0] != 4)


def test_corrupt_artifact_is_rejected(tmp_path, tiny_artifact):
    import shutil

    import pytest

    out, _meta, _ = tiny_artifact
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "model.npz").write_bytes(b"garbage")
    with pytest.raises(artifact.ArtifactError):
        artifact.load(bad)
    (bad / "model.npz").unlink()
    with pytest.raises(artifact.ArtifactError):
        artifact.load(bad)
