"""ml test fixtures: the session's one tiny model (trained in the root conftest) with its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLOAT32_WEIGHTS = REPO.parent / "shared" / "models" / "vgg16_imagenet_notop.h5"
SAMPLES = REPO / "ml" / "samples"


@pytest.fixture(scope="session")
def tiny_artifact(tiny_artifact_dir):
    """(artifact dir, metadata, evaluation) of the session's tiny model."""
    meta = json.loads((tiny_artifact_dir / "metadata.json").read_text())
    evaluation = json.loads((tiny_artifact_dir / "evaluation.json").read_text())
    return tiny_artifact_dir, meta, evaluation
