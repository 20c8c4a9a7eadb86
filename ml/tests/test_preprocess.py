import io

import numpy as np
import pytest
from PIL import Image

from ml.core import preprocess, quality
from ml.core.preprocess import InvalidImage

from .synth import skin_image


def _jpeg(arr, exif_orientation=None):
    im = Image.fromarray(arr)
    buf = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(buf, "JPEG", quality=95, exif=exif)
    else:
        im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_exif_rotation_is_applied():
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, :40] = (255, 0, 0)  # left half red
    rgb = preprocess.load_rgb(_jpeg(arr, exif_orientation=6))  # 6 = rotate 90 CW on display
    assert rgb.shape == (80, 40, 3)
    assert rgb[5, 20, 0] > 200 and rgb[75, 20, 0] < 60  # red ends up on top


def test_grayscale_and_rgba_become_rgb():
    g = Image.fromarray(np.full((50, 50), 128, np.uint8), "L")
    assert preprocess.load_rgb(g).shape == (50, 50, 3)
    rgba = Image.fromarray(np.zeros((50, 50, 4), np.uint8), "RGBA")
    assert preprocess.load_rgb(rgba)[0, 0].tolist() == [255, 255, 255]  # transparent -> white


def test_invalid_image_raises():
    with pytest.raises(InvalidImage):
        preprocess.load_rgb(b"not an image")
    with pytest.raises(InvalidImage):
        preprocess.preprocess(b"")


def _astronaut():
    from .conftest import SAMPLES

    return preprocess.load_rgb(SAMPLES / "astronaut_face.jpg")


def test_face_path_crops_around_the_face_and_keeps_only_the_face_oval():
    img = np.full((520, 640, 3), (40, 120, 60), np.uint8)  # green background
    img[60:460, 120:520] = _astronaut()
    out = preprocess.preprocess(img, size=224)
    assert out.face_found and not out.quality["no_face"]
    x0, y0, x1, y1 = out.box
    assert 120 <= x0 and x1 <= 520 and abs((x1 - x0) - (y1 - y0)) <= 2  # square box inside the photo
    assert out.crop.shape == (224, 224, 3) and out.crop.dtype == np.uint8
    # corners (hair, collar, background) become the neutral ImageNet mean; the centre is the face
    mean_rgb = preprocess.VGG_MEAN_BGR[::-1]
    for corner in (out.crop[:12, :12], out.crop[-12:, -12:]):
        np.testing.assert_allclose(corner.reshape(-1, 3).mean(0), mean_rgb, atol=3)
    assert np.abs(out.crop[100:124, 100:124].reshape(-1, 3).mean(0) - mean_rgb).max() > 15
    # what people see under the heatmap: the same crop without the mask, and where it sits on the photo
    assert out.unmasked.shape == out.crop.shape
    np.testing.assert_array_equal(out.unmasked[100:124, 100:124], out.crop[100:124, 100:124])
    assert np.abs(out.unmasked[:12, :12].reshape(-1, 3).mean(0) - mean_rgb).max() > 15
    assert out.box_fractions == pytest.approx([x0 / 640, y0 / 520, x1 / 640, y1 / 520], abs=1e-4)


@pytest.mark.parametrize("size", [64, 224])
def test_the_crops_side_is_measured_in_the_photos_own_pixels_whatever_the_model_input(size):
    """decision.MIN_JUDGE_SIDE reads it: a 95 px face crop is 95 px, not the model's input size."""
    out = preprocess.preprocess(_astronaut(), size=size)
    x0, y0, x1, y1 = out.box
    assert out.face_found
    assert out.extras["region_side"] == pytest.approx(min(x1 - x0, y1 - y0))


def test_skin_weights_keep_the_face_skin_without_the_eyes_and_the_mouth():
    """The head pools over these weights: cheeks and forehead count, eyes, mouth and what lies outside the oval
    do not; a crop without a face counts whole."""
    img = np.full((520, 640, 3), (40, 120, 60), np.uint8)
    img[60:460, 120:520] = _astronaut()
    out = preprocess.preprocess(img, size=224)
    weights = out.skin_weights()
    assert weights.shape == (224, 224) and weights.dtype == np.float32
    (rx, ry), (lx, ly), (nx, ny), (mx, my) = out.keypoints[:4]
    at = lambda x, y: float(weights[int(round(y)), int(round(x))])  # noqa: E731
    assert at(rx, ry) < 0.1 and at(lx, ly) < 0.1 and at(mx, my) < 0.1  # the eyes and the mouth
    assert at(rx, (ry + my) / 2) > 0.9 and at(lx, (ly + my) / 2) > 0.9  # the cheeks
    assert at((rx + lx) / 2, ry - 0.6 * abs(lx - rx)) > 0.9  # the forehead
    assert weights[:10, :10].max() == 0.0 and weights[-10:, -10:].max() == 0.0  # outside the oval
    small = out.skin_weights(14)
    assert small.shape == (14, 14) and 0.2 < small.mean() < 0.7
    no_face = preprocess.preprocess(skin_image("eczema", 160))
    assert not no_face.face_found and (no_face.skin_weights(14) == 1.0).all()


def test_augmentation_moves_the_skin_weights_with_the_crop():
    from ml.core import augment

    crop = np.full((64, 64, 3), 120, np.uint8)
    crop[4:24, 4:24] = (0, 255, 0)  # a green square where the weights are
    weights = np.zeros((64, 64), np.float32)
    weights[4:24, 4:24] = 1.0
    moved = 0
    for seed in range(12):
        out, w = augment.augment(crop, np.random.default_rng(seed), face_found=True, weights=weights)
        green = (out[..., 1].astype(int) - out[..., 0].astype(int) > 60).astype(np.float32)
        assert np.corrcoef(green.ravel(), w.ravel())[0, 1] > 0.8, seed
        moved += int(w[4:24, 4:24].mean() < 0.9)
    assert moved >= 6  # most draws flip, rotate or shift it


def test_a_face_crop_can_become_a_close_up_of_its_skin():
    """Training turns some face crops into close-ups of their skin (people send close-ups too), centred on
    the skin weights: the close-up is (nearly) all skin, and crops without a face never become one."""
    from ml.core import augment

    img = np.full((520, 640, 3), (40, 120, 60), np.uint8)
    img[60:460, 120:520] = _astronaut()
    pre = preprocess.preprocess(img, size=224)
    weights = pre.skin_weights()
    close = [augment.augment(pre.crop, np.random.default_rng(seed), True, weights, close_up=1.0)[1].mean()
             for seed in range(8)]
    assert min(close) > 0.7 and np.mean(close) > weights.mean() + 0.15  # eyes or mouth may still be in view
    kept = augment.augment(pre.crop, np.random.default_rng(0), False, np.ones((224, 224), np.float32), close_up=1.0)
    assert kept[1].mean() > 0.3  # no close-up without a face: at most the random oval
    assert 0.0 < augment.CLOSE_UP < 0.5


def test_blazeface_finds_a_real_face_and_not_a_cat_or_a_cup():
    from ml.core import faces

    from .conftest import SAMPLES

    face = faces.detect_face(_astronaut())
    assert face is not None and face.score >= faces.MIN_SCORE and len(face.keypoints) == 6
    assert 120 < face.x + face.w / 2 < 280  # the face is in the middle of the portrait
    for name in ("coffee_cup.jpg",):
        assert faces.detect_face(preprocess.load_rgb(SAMPLES / name)) is None


def test_grey_photo_is_flagged_no_colour_and_colour_photo_is_not():
    rgb = _astronaut()
    grey = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    assert preprocess.preprocess(grey).quality["no_colour"]
    assert not preprocess.preprocess(rgb).quality["no_colour"]
    faint = np.clip(grey.astype(np.float32) * [1.0, 0.98, 0.95], 0, 255).astype(np.uint8)  # a faint tint only
    assert preprocess.preprocess(faint).quality["no_colour"]


def test_no_face_path_uses_central_crop():
    img = skin_image("acne", size=300)
    out = preprocess.preprocess(img, size=128)
    assert not out.face_found and out.quality["no_face"]
    assert out.box == (24, 24, 276, 276)  # 8% border dropped
    assert out.crop.shape == (128, 128, 3)
    assert out.skin_ratio > 0.5


def test_vgg_input_is_caffe_style():
    x = preprocess.vgg_input(np.array([[[[10, 20, 30]]]], np.uint8))
    np.testing.assert_allclose(x[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-5)


def _flags(img, face=True):
    return quality.quality_flags(img, face)


def test_quality_flag_blurry():
    sharp = skin_image("eczema", size=256)
    import cv2

    blurred = cv2.GaussianBlur(sharp, (0, 0), 6)
    assert not _flags(sharp)["blurry"]
    assert _flags(blurred)["blurry"]


def test_quality_flag_dark_and_bright():
    img = skin_image("healthy", size=200)
    assert not _flags(img)["too_dark"] and not _flags(img)["too_bright"]
    assert _flags((img * 0.15).astype(np.uint8))["too_dark"]
    assert _flags(np.clip(img.astype(int) + 120, 0, 255).astype(np.uint8))["too_bright"]


def test_quality_flag_too_small_and_no_face():
    small = skin_image("acne", size=60)
    f = _flags(small, face=False)
    assert f["too_small"] and f["no_face"]
    assert set(f) == set(quality.QUALITY_KEYS)
    assert not _flags(skin_image("acne", size=200))["too_small"]


def test_preprocess_reports_all_flags_for_a_face():
    out = preprocess.preprocess(_astronaut())
    assert set(out.quality) == set(quality.QUALITY_KEYS)
    assert out.face_found


def _mpl_sample(name):
    from pathlib import Path

    import matplotlib

    p = Path(matplotlib.get_data_path()) / "sample_data" / name
    if not p.exists():
        pytest.skip(f"matplotlib sample {name} not installed")
    return p


def test_real_photo_face_is_found():
    """grace_hopper.jpg ships with matplotlib: a real portrait photo."""
    out = preprocess.preprocess(_mpl_sample("grace_hopper.jpg"))
    assert out.face_found
    x0, y0, x1, y1 = out.box
    assert 150 < (x0 + x1) / 2 < 380 and (x1 - x0) < 512


def test_real_non_face_photo_has_little_skin():
    out = preprocess.preprocess(_mpl_sample("Minduka_Present_Blue_Pack.png"))
    assert not out.face_found and out.skin_ratio < 0.2


def test_a_large_jpeg_is_decoded_at_reduced_scale_with_the_same_crop_and_flags():
    portrait = Image.fromarray(_astronaut()).resize((2048, 2048), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    portrait.save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    rgb, scale = preprocess.decode(data, draft_side=preprocess.DECODE_SIDE)
    assert rgb.shape == (1024, 1024, 3) and scale == 2.0
    fast = preprocess.preprocess(data)  # bytes: the reduced decode
    full = preprocess.preprocess(preprocess.load_rgb(data))  # the whole 2048 px array
    assert fast.face_found and full.face_found
    assert fast.box_fractions == pytest.approx(full.box_fractions, abs=0.01)
    assert fast.quality == full.quality
    assert np.abs(fast.crop.astype(int) - full.crop.astype(int)).mean() < 4


def test_small_photos_and_pngs_are_decoded_whole():
    small = _jpeg(_astronaut())
    assert preprocess.decode(small, draft_side=preprocess.DECODE_SIDE)[1] == 1.0
    buf = io.BytesIO()
    Image.new("RGB", (2400, 2400), (200, 150, 120)).save(buf, "PNG")
    rgb, scale = preprocess.decode(buf.getvalue(), draft_side=preprocess.DECODE_SIDE)
    assert rgb.shape == (2400, 2400, 3) and scale == 1.0


def test_too_small_is_judged_in_original_pixels():
    region = skin_image("acne", size=80)
    assert quality.quality_flags(region, True)["too_small"]
    assert not quality.quality_flags(region, True, scale=2.0)["too_small"]  # 160 px in the uploaded photo
