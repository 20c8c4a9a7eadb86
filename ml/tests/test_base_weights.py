"""The ImageNet VGG16 base committed with the repository (float16) and its identity."""

import json

import numpy as np
import pytest

from ml.core.model import (
    SHIPPED_BASE_WEIGHTS,
    base_weights_id,
    conv_names,
    export_base_weights,
    load_base_weights,
    read_base_weights,
    sha256_file,
)

from .conftest import FLOAT32_WEIGHTS, REPO

README = (REPO / "ml" / "weights" / "README.md").read_text()


def test_shipped_base_is_in_the_repository_within_budget_and_documented():
    assert SHIPPED_BASE_WEIGHTS.is_file()
    assert SHIPPED_BASE_WEIGHTS.stat().st_size < 30 * 2**20
    assert sha256_file(SHIPPED_BASE_WEIGHTS) in README
    assert "CC BY 4.0" in README


def test_shipped_base_loads_as_float32_with_every_conv_layer():
    weights, base_id = load_base_weights()
    assert list(weights) == conv_names()
    assert weights["block1_conv1"][0].shape == (3, 3, 3, 64) and weights["block5_conv3"][1].shape == (512,)
    assert all(w.dtype == np.float32 for pair in weights.values() for w in pair)
    assert base_id in README


def test_missing_base_is_an_error_not_random_weights(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_base_weights(tmp_path / "nope.npz")


def test_id_is_the_same_for_float32_and_its_float16_export(tmp_path):
    if not FLOAT32_WEIGHTS.exists():
        pytest.skip("the float32 Keras file is not beside this checkout")
    out = tmp_path / "base.npz"
    exported_id = export_base_weights(FLOAT32_WEIGHTS, out)
    assert exported_id == load_base_weights(FLOAT32_WEIGHTS)[1] == load_base_weights(out)[1]
    assert exported_id == load_base_weights()[1]  # the committed file is that export


def test_id_changes_when_a_weight_changes():
    weights = read_base_weights(SHIPPED_BASE_WEIGHTS)
    before = base_weights_id(weights)
    weights["block3_conv2"][0] = weights["block3_conv2"][0].copy()
    weights["block3_conv2"][0][0, 0, 0, 0] += 0.5
    assert base_weights_id(weights) != before


def test_tiny_artifact_records_the_shipped_base(tiny_artifact):
    meta = json.loads((tiny_artifact[0] / "metadata.json").read_text())
    assert meta["base_weights_id"] == load_base_weights()[1]
