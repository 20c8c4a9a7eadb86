import io

import numpy as np
import pytest
from PIL import Image

from ml.core import gradcam
from ml.core.inference import Predictor
from ml.core.preprocess import InvalidImage

from .synth import face_image, non_face_images, skin_image

CONFIDENT = {"acne", "eczema", "healthy", "rosacea"}


@pytest.fixture(scope="module")
def predictor(tiny_artifact, base_weights_path):
    return Predictor(tiny_artifact[0], base_weights_path)


def test_prediction_contract(predictor):
    p = predictor.predict(Image.fromarray(skin_image("rosacea", 96, seed=3)))
    assert p.label in CONFIDENT | {"uncertain", "no_skin"}
    assert set(p.probabilities) == CONFIDENT
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert set(p.quality) == {"no_face", "blurry", "too_dark", "too_bright", "too_small"}
    assert p.model_version == "tiny-model"
    assert p.top_probability == pytest.approx(max(p.probabilities.values()))
    assert p.heatmap_jpeg[:2] == b"\xff\xd8"


def test_accepts_bytes_path_and_pil(predictor, tmp_path):
    arr = face_image(200)
    path = tmp_path / "f.png"
    Image.fromarray(arr).save(path)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    for im in (str(path), buf.getvalue(), Image.fromarray(arr)):
        assert predictor.predict(im, with_heatmap=False).label
    with pytest.raises(InvalidImage):
        predictor.predict(b"\x00\x01 not an image")


@pytest.mark.parametrize("name", sorted(non_face_images()))
def test_non_face_images_never_get_a_confident_class(predictor, name):
    img = non_face_images()[name]
    p = predictor.predict(Image.fromarray(img), with_heatmap=False)
    assert p.label in {"no_skin", "uncertain"}, (name, p.label, p.details)


def test_gradcam_shape_and_range(predictor):
    crop = skin_image("acne", 32, seed=1)
    feats = predictor.extractor(crop[None])
    cam = gradcam.gradcam(predictor.top, feats, 0)
    assert cam.shape == (2, 2)
    assert cam.min() >= 0.0 and cam.max() <= 1.0
    over = gradcam.overlay(crop, cam)
    assert over.shape == crop.shape and over.dtype == np.uint8
    heat = predictor.heatmap(Image.fromarray(skin_image("acne", 96)))
    assert heat.shape == (32, 32, 3)


def test_real_non_face_photo_is_not_confident(predictor):
    from pathlib import Path

    import matplotlib

    p = Path(matplotlib.get_data_path()) / "sample_data" / "Minduka_Present_Blue_Pack.png"
    if not p.exists():
        pytest.skip("matplotlib sample data not installed")
    assert predictor.predict(str(p), with_heatmap=False).label in {"no_skin", "uncertain"}
