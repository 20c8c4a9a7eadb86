"""Shared fixtures for the ml tests: the base weights (real file if present), a tiny trained artifact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = Path(
    os.environ.get("FACEDIAG_VGG16_WEIGHTS") or REPO.parent / "shared" / "models" / "vgg16_imagenet_notop.h5"
)
SKIN4 = REPO.parent / "shared" / "data" / "skin4"
TINY_SIZE = 32


@pytest.fixture(scope="session")
def base_weights_path():
    """The real VGG16 notop weights when available, else None (random weights; never downloads)."""
    return str(WEIGHTS) if WEIGHTS.exists() else None


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from .synth import make_dataset

    return make_dataset(tmp_path_factory.mktemp("tinydata") / "data", per_class=10, size=64)


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory, tiny_dataset, base_weights_path):
    """Train a tiny model end to end (32x32 input) once per session."""
    from ml.core.train import train

    out = tmp_path_factory.mktemp("tinyart") / "tiny-model"
    meta, report = train(
        [tiny_dataset],
        out,
        epochs=2,
        head_epochs=15,
        input_size=TINY_SIZE,
        views=2,
        base_weights_path=base_weights_path,
        log=lambda m: None,
    )
    return out, meta, report
