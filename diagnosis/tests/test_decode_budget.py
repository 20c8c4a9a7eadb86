"""The decode budget (issue 30, finding M1): no upload makes a web worker decode more than
SCAN_DECODE_MAX_PIXELS, whatever its format, and damaged files count against a per-account limit; what is
decoded keeps one full-size buffer (finding 12).

Memory is measured in a fresh process (VmHWM, its own peak RSS). Before the budget, the outside test's 80 KB
WebP of 16383x2400 took a process +604 MB (bench/upload_memory.py).
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diagnosis.imaging import UploadRejected, clean_upload
from diagnosis.models import Scan
from tests.support import face_like_jpeg

ROOT = Path(__file__).resolve().parents[2]
LIMITS = dict(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_side=64, stored_max_side=2048,
              decode_max_pixels=16_000_000)

CHILD = r"""
import json, sys
import django
django.setup()  # a refusal's message is translated
from diagnosis.imaging import UploadRejected, clean_upload

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

data = open(sys.argv[1], "rb").read()
before = peak_mb()
try:
    clean = clean_upload(data, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_side=64, stored_max_side=2048)
    outcome = [clean.width, clean.height]
except UploadRejected as exc:
    outcome = exc.code
print(json.dumps({"growth_mb": peak_mb() - before, "outcome": outcome}))
"""


def encode(width, height, fmt):
    ramp = np.linspace(0, 60, width, dtype=np.float32)[None, :] + np.linspace(0, 40, height, dtype=np.float32)[:, None]
    pixels = np.stack([150 + ramp, 110 + ramp, 90 + ramp], axis=-1).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, fmt, **({"quality": 85} if fmt != "PNG" else {}))
    return out.getvalue()


def clean_in_a_fresh_process(tmp_path, data):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    result = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"DJANGO_SETTINGS_MODULE": "facediag_site.test_settings",
                                              "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cleaning_the_largest_png_within_the_budget_keeps_one_full_size_buffer(tmp_path):
    """A 6300x6300 PNG used to peak ~450 MB above the start (several full-size copies); the decoded image is
    now shrunk in place first, so one full-size buffer exists."""
    side = 3990  # 15.9 MP: just under SCAN_DECODE_MAX_PIXELS
    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    del image
    assert len(out.getvalue()) < 1024 * 1024  # small file, huge canvas
    figures = clean_in_a_fresh_process(tmp_path, out.getvalue())
    assert figures["outcome"] == [2048, 2048]
    full_size_mb = side * side * 4 / 2**20  # one decoded buffer
    assert figures["growth_mb"] < full_size_mb + 80, figures


def test_the_outside_tests_long_thin_webp_is_refused_from_its_header(tmp_path):
    data = encode(16383, 2400, "WEBP")
    assert len(data) < 200 * 1024  # a small file, a 39 MP canvas
    figures = clean_in_a_fresh_process(tmp_path, data)
    assert figures["outcome"] == "image_too_large"
    assert figures["growth_mb"] < 30, figures  # nothing decoded (was +604 MB)


def test_a_long_thin_jpeg_is_decoded_reduced_within_the_budget(tmp_path):
    figures = clean_in_a_fresh_process(tmp_path, encode(16383, 2400, "JPEG"))
    assert figures["outcome"] == [2048, 300]
    assert figures["growth_mb"] < 100, figures  # decoded at 1/2 (was +156 MB: its short side kept it whole)


@pytest.mark.parametrize("fmt, width, height", [("PNG", 6300, 6300), ("PNG", 16383, 2400), ("WEBP", 4032, 3024)])
def test_png_and_webp_over_their_budget_are_refused_with_a_clear_message(fmt, width, height):
    with pytest.raises(UploadRejected) as refused:
        clean_upload(encode(width, height, fmt), **LIMITS)
    assert refused.value.code == "image_too_large" and refused.value.status == 413
    name = "PNG" if fmt == "PNG" else "WebP"
    assert f"too many pixels for a {name} file" in refused.value.message and "Upload a JPEG" in refused.value.message


@pytest.mark.parametrize("fmt, width, height", [("PNG", 4608, 3456), ("WEBP", 2656, 2000), ("JPEG", 7000, 5000)])
def test_photos_within_the_budget_are_still_accepted(fmt, width, height):
    clean = clean_upload(encode(width, height, fmt), **LIMITS)
    assert max(clean.width, clean.height) == 2048


def truncated_png():
    whole = encode(1500, 1500, "PNG")
    return whole[: len(whole) * 2 // 3]


@pytest.mark.django_db
def test_damaged_uploads_count_against_a_per_account_limit(settings, user_client, user, other_user, client):
    """Four connections posting a truncated PNG slowed another user's pages (M1): each damaged file costs a
    decode, and used to give its quota back. Past SCAN_REFUSED_UPLOAD_RATE the account is refused undecoded."""
    settings.SCAN_REFUSED_UPLOAD_RATE = "3/hour"
    upload = reverse("diagnosis:upload")
    statuses = [user_client.post(upload, {"image": SimpleUploadedFile("f.png", truncated_png())}).status_code
                for _ in range(3)]
    assert statuses == [400, 400, 400]
    refused = user_client.post(upload, {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())})
    assert refused.status_code == 429 and "could not be read as photos" in refused.content.decode()
    assert not Scan.objects.filter(owner=user).exists()

    client.force_login(other_user)  # another account is not affected
    assert client.post(upload, {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())}).status_code == 302


@pytest.mark.django_db
def test_the_api_refuses_an_account_past_its_damaged_uploads(settings, user):
    from rest_framework.test import APIClient

    settings.SCAN_REFUSED_UPLOAD_RATE = "2/hour"
    client = APIClient()
    client.force_authenticate(user)
    for _ in range(2):
        response = client.post(reverse("api:scan-list"), {"image": SimpleUploadedFile("f.png", truncated_png())},
                               format="multipart")
        assert response.status_code == 400 and response.json()["error"]["code"] == "corrupt_image"
    response = client.post(reverse("api:scan-list"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())},
                           format="multipart")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_refused_uploads"


def test_a_refusal_that_decodes_nothing_does_not_count(settings):
    from diagnosis import rate_limits

    assert rate_limits.COSTLY_REFUSALS == ("corrupt_image",)  # too large, not an image: refused from the header
