"""Property tests (Hypothesis) for the upload validator (diagnosis.imaging.clean_upload) and the
ML preprocessing (ml.core.preprocess.preprocess).

The validator must, for ANY bytes, either refuse with an UploadRejected carrying a 400/413/415
and a message, or return a clean RGB JPEG; for any valid picture it must keep the picture
(upright, right size) and drop the metadata. The preprocessing must turn any RGB array into a
size x size uint8 crop with boolean quality flags."""

import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from diagnosis.imaging import UploadRejected, clean_upload
from ml.core.preprocess import preprocess, vgg_input
from ml.core.quality import QUALITY_KEYS

from .helpers import assert_clean_jpeg

pytestmark = pytest.mark.django_db

LIMITS = {"max_bytes": 2 * 1024 * 1024, "max_pixels": 1_000_000, "min_side": 64, "stored_max_side": 256}


def ci(examples):
    """Modest example counts for CI (raise them locally to dig deeper)."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _encode(image, fmt, **kw):
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def _noise(size, seed, mode="RGB"):
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, 3)
    arr = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(arr)
    return image if mode == "RGB" else image.convert(mode)


def _exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010E] = "SECRET-EXIF-DESCRIPTION"
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}
    return exif


def _check_result_or_rejection(data):
    try:
        clean = clean_upload(data, **LIMITS)
    except UploadRejected as exc:
        assert exc.status in (400, 413, 415), exc.status
        assert exc.code and len(exc.message) >= 15
        return None
    image = assert_clean_jpeg(clean.jpeg)
    assert_clean_jpeg(clean.thumbnail_jpeg)
    assert image.size == (clean.width, clean.height)
    assert min(image.size) >= 1 and max(image.size) <= LIMITS["stored_max_side"]
    return clean


# --- the validator on hostile bytes -------------------------------------------------------------

@ci(500)
@given(st.binary(max_size=4096))
def test_any_bytes_are_refused_with_a_4xx_or_cleaned(data):
    _check_result_or_rejection(data)


@ci(80)
@given(st.sampled_from([b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"GIF89a",
                        b"<svg", b"BM", b"II*\x00", b"\x00\x00\x00\x18ftypheic"]),
       st.binary(max_size=2048))
def test_known_magic_numbers_followed_by_junk(magic, tail):
    _check_result_or_rejection(magic + tail)


SEEDS = {
    "jpeg": _encode(_noise((96, 80), 1), "JPEG", quality=80),
    "jpeg_exif": _encode(_noise((96, 80), 2), "JPEG", exif=_exif(6)),
    "jpeg_progressive": _encode(_noise((96, 80), 3), "JPEG", progressive=True),
    "png": _encode(_noise((80, 72), 4), "PNG"),
    "png_palette": _encode(_noise((80, 72), 5).quantize(16), "PNG"),
    "webp": _encode(_noise((96, 80), 6), "WEBP"),
    "webp_lossless": _encode(_noise((96, 80), 7, "RGBA"), "WEBP", lossless=True),
}


@st.composite
def mutated_images(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "header"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "header" and len(data) > 40:
            data[draw(st.integers(0, 40))] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 32))]
    return bytes(data)


@ci(500)
@given(mutated_images())
def test_damaged_images_are_refused_with_a_4xx_or_cleaned(data):
    clean = _check_result_or_rejection(data)
    if clean is not None:  # whatever got through can be preprocessed
        assert preprocess(clean.jpeg, size=32, detect=False).crop.shape == (32, 32, 3)


# --- the validator on valid pictures ------------------------------------------------------------

FORMAT_MODES = {
    "JPEG": ["RGB", "L", "CMYK"],
    "PNG": ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"],
    "WEBP": ["RGB", "RGBA"],
}
TRANSPOSED = {5, 6, 7, 8}


@st.composite
def valid_pictures(draw):
    fmt = draw(st.sampled_from(sorted(FORMAT_MODES)))
    mode = draw(st.sampled_from(FORMAT_MODES[fmt]))
    size = (draw(st.integers(64, 400)), draw(st.integers(64, 400)))
    orientation = draw(st.one_of(st.none(), st.integers(1, 8)))
    image = _noise(size, draw(st.integers(0, 2**32 - 1)))
    if mode == "P":
        image = image.quantize(draw(st.integers(2, 256)))
    elif mode == "I;16":
        image = Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)
    elif mode != "RGB":
        image = image.convert(mode)
    kw = {"exif": _exif(orientation)} if orientation else {}  # PNG and WebP carry EXIF too
    if fmt == "JPEG":
        kw["quality"] = draw(st.integers(30, 95))
    return _encode(image, fmt, **kw), size, orientation


@ci(120)
@given(valid_pictures())
def test_valid_pictures_become_upright_metadata_free_jpegs(picture):
    data, (w, h), orientation = picture
    assume(len(data) <= LIMITS["max_bytes"])
    clean = clean_upload(data, **LIMITS)
    image = assert_clean_jpeg(clean.jpeg, forbidden=(b"SECRET-EXIF",))
    assert_clean_jpeg(clean.thumbnail_jpeg, forbidden=(b"SECRET-EXIF",))
    upright = (h, w) if orientation in TRANSPOSED else (w, h)
    side = LIMITS["stored_max_side"]
    if max(upright) <= side:
        assert image.size == upright
    else:  # scaled down to fit, keeping the aspect ratio (to a pixel)
        assert max(image.size) == side
        assert math.isclose(image.width / image.height, upright[0] / upright[1], rel_tol=0.02, abs_tol=1 / side * 2)
    result = preprocess(clean.jpeg, size=32, detect=False)
    assert result.crop.shape == (32, 32, 3) and result.image_size == image.size


@ci(60)
@given(st.sampled_from(["JPEG", "PNG", "WEBP"]), st.binary(min_size=1, max_size=200),
       st.sets(st.sampled_from(["comment", "xmp", "icc_profile", "exif"]), min_size=1))
def test_no_metadata_survives(fmt, secret, kinds):
    """Whatever metadata an upload carries (comment, XMP, ICC, EXIF), none of it is stored."""
    from PIL import ImageCms

    marker = b"SECRET" + secret.replace(b"\x00", b"-")
    kw = {}
    if "comment" in kinds and fmt == "JPEG":
        kw["comment"] = marker
    if "xmp" in kinds:
        kw["xmp"] = b"<x:xmpmeta>" + marker + b"</x:xmpmeta>"
    if "icc_profile" in kinds:
        kw["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if "exif" in kinds:
        kw["exif"] = _exif(1)
    if not kw:  # a comment alone, on a format without comments
        kw["exif"] = _exif(1)
    clean = clean_upload(_encode(_noise((96, 80), 9), fmt, **kw), **LIMITS)
    assert_clean_jpeg(clean.jpeg, forbidden=(marker, b"SECRET-EXIF"))
    assert_clean_jpeg(clean.thumbnail_jpeg, forbidden=(marker, b"SECRET-EXIF"))


# --- the preprocessing --------------------------------------------------------------------------

@st.composite
def rgb_arrays(draw):
    h, w = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    kind = draw(st.sampled_from(["noise", "constant", "extremes", "gradient"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "noise":
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == "constant":
        return np.full((h, w, 3), draw(st.integers(0, 255)), dtype=np.uint8)
    if kind == "extremes":
        return (rng.integers(0, 2, (h, w, 3)) * 255).astype(np.uint8)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    return np.broadcast_to(ramp, (h, w, 3)).astype(np.uint8)


@ci(150)
@given(rgb_arrays(), st.sampled_from([32, 64, 224]), st.booleans())
def test_preprocess_gives_a_square_uint8_crop_and_boolean_flags(rgb, size, detect):
    h, w = rgb.shape[:2]
    result = preprocess(rgb, size=size, detect=detect)
    assert result.crop.shape == (size, size, 3) and result.crop.dtype == np.uint8
    assert result.crop.flags["C_CONTIGUOUS"]
    assert set(result.quality) == set(QUALITY_KEYS)
    assert all(type(v) is bool for v in result.quality.values()), result.quality
    assert result.quality["no_face"] is (not result.face_found)
    assert math.isfinite(result.skin_ratio) and 0.0 <= result.skin_ratio <= 1.0
    x0, y0, x1, y1 = result.box
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert result.image_size == (w, h)
    assert math.isfinite(result.extras["gray_std"])
    x = vgg_input(result.crop)
    assert x.dtype == np.float32 and np.isfinite(x).all()


@ci(60)
@given(rgb_arrays())
def test_preprocess_is_deterministic(rgb):
    a, b = preprocess(rgb, size=32), preprocess(rgb.copy(), size=32)
    assert np.array_equal(a.crop, b.crop) and a.quality == b.quality and a.box == b.box


@ci(40)
@given(st.sampled_from([np.float32, np.int16, np.uint16]), st.integers(1, 3))
def test_preprocess_refuses_arrays_that_are_not_uint8_rgb(dtype, channels):
    from ml.core.preprocess import InvalidImage

    bad = np.zeros((40, 40, channels), dtype=dtype)
    with pytest.raises(InvalidImage):
        preprocess(bad, size=32)
