"""Every item of the malformed-image corpus (scripts/make_malformed_corpus.py), sent through the
web upload and the API. Each gets a clear 4xx, or is accepted and stored as a clean, upright,
metadata-free RGB JPEG (plus its thumbnail) that the ML preprocessing can read. Never a 500, and
never a stray file: not in MEDIA_ROOT, not in the upload temp folder."""

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis.models import Scan
from ml.core.preprocess import preprocess
from scripts.make_malformed_corpus import MARKER_COLOUR, build_corpus
from tests.support import media_files

from .helpers import assert_clean_jpeg, near

pytestmark = pytest.mark.django_db

CORPUS = build_corpus()
NAMES = sorted(CORPUS)


@pytest.fixture
def upload_tmp(settings, tmp_path):
    """Django spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE here; it must be empty afterwards."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def api_client(user, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "uploads": "100000/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    settings.SCAN_UPLOAD_RATE = "100000/hour"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _file(name):
    data, expect = CORPUS[name]
    return SimpleUploadedFile(expect.filename, data, content_type=expect.content_type)


def _check_outcome(name, status, scan, media_root, upload_tmp, run_preprocess=False):
    """The expectation of corpus item `name`, the stored files, and no strays."""
    _, expect = CORPUS[name]
    assert status != 500
    if expect.outcome == "accept":
        assert scan is not None, f"{name} should be accepted and re-encoded, got {status}"
    elif expect.outcome == "reject":
        assert scan is None, f"{name} should be rejected, but a scan was stored"
        if expect.status:
            assert status == expect.status
    assert list(upload_tmp.iterdir()) == [], "a spooled upload was left in the temp folder"

    if scan is None:
        assert 400 <= status < 500
        assert not Scan.objects.exists()
        assert media_files(media_root) == [], "a rejected upload left files in MEDIA_ROOT"
        return

    assert Scan.objects.count() == 1
    photo = scan.first_photo
    assert media_files(media_root) == sorted([media_root / photo.image.name, media_root / photo.thumbnail.name])
    stored = (media_root / photo.image.name).read_bytes()
    thumb = (media_root / photo.thumbnail.name).read_bytes()
    image = assert_clean_jpeg(stored, forbidden=expect.forbidden)
    thumbnail = assert_clean_jpeg(thumb, forbidden=expect.forbidden)
    assert (photo.image_width, photo.image_height) == image.size
    assert max(image.size) <= 2048 and max(thumbnail.size) <= 256
    if expect.upright_size:
        assert image.size == expect.upright_size, "stored picture is not upright / not the expected size"
    if expect.marker_top_left:
        w, h = image.size
        assert near(image.getpixel((w // 8, h // 8)), MARKER_COLOUR, 30), "marker not in the top-left corner"
        assert not near(image.getpixel((w - w // 8, h - h // 8)), MARKER_COLOUR, 60)
    if expect.colour:
        assert near(image.getpixel((image.width // 2, image.height // 2)), expect.colour)
    if run_preprocess:  # the ML preprocessing reads what was stored (both channels store the same bytes)
        crop = preprocess(stored, size=64)
        assert crop.crop.shape == (64, 64, 3) and crop.crop.dtype.name == "uint8"
        assert crop.image_size == image.size


@pytest.mark.parametrize("name", NAMES)
def test_web_upload(name, user_client, user, isolated_media, upload_tmp):
    response = user_client.post(reverse("diagnosis:upload"), {"image": _file(name), "note": "corpus"})
    scan = None
    if response.status_code == 302:
        scan = Scan.objects.get(owner=user)
        assert response["Location"] == reverse("diagnosis:scan-detail", kwargs={"scan_id": scan.id})
    else:
        assert 400 <= response.status_code < 500, response.status_code
        errors = response.context["form"].errors.get("image")
        assert errors, "a rejected upload must say why, on the image field"
        page = response.content.decode()
        for message in errors:
            assert len(message) >= 15 and html.escape(message) in page
    _check_outcome(name, response.status_code, scan, isolated_media, upload_tmp, run_preprocess=True)


@pytest.mark.parametrize("name", NAMES)
def test_api_upload(name, api_client, user, isolated_media, upload_tmp):
    response = api_client.post(reverse("api:scan-list"), {"image": _file(name), "note": "corpus"}, format="multipart")
    scan = None
    if response.status_code == 202:
        body = response.json()
        scan = Scan.objects.get(owner=user)
        assert body["id"] == str(scan.id) and body["status"] == "queued"
        assert response["Location"] == body["url"]
    else:
        assert 400 <= response.status_code < 500, response.status_code
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
        error = body["error"]
        assert error["code"] and len(error["message"]) >= 15
        assert error["fields"].get("image"), "a rejected upload must name the image field"
    _check_outcome(name, response.status_code, scan, isolated_media, upload_tmp)


def test_corpus_covers_the_issue():
    """The categories the reliability issue lists are all in the corpus."""
    wanted = ["truncated_", "bomb_", "30000x30000", "polyglot_jpeg_plus_html", "polyglot_jpeg_plus_zip", "svg_",
              "animated_gif", "animated_webp", "cmyk", "16bit", "palette", "rgba", "exif_orientation_invalid",
              "exif_garbage", "empty_0_bytes"]
    for part in wanted:
        assert any(part in name for name in CORPUS), part
    for orientation in range(1, 9):
        assert f"exif_orientation_{orientation}" in CORPUS


def test_cli_writes_every_item(tmp_path, capsys):
    from scripts.make_malformed_corpus import main

    assert main([str(tmp_path / "corpus")]) == 0
    assert capsys.readouterr().out.strip() == str(len(CORPUS))
    written = sorted(p.stem for p in (tmp_path / "corpus").iterdir())
    assert written == NAMES
    assert (tmp_path / "corpus" / "jpeg_plain.jpg").read_bytes() == CORPUS["jpeg_plain"][0]
    Image.open(io.BytesIO(CORPUS["jpeg_plain"][0])).verify()
