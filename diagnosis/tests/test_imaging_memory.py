"""A small PNG with huge dimensions must not take a web worker's memory with it (finding 12).

Measured in a fresh process (VmHWM, its own peak RSS): a 6300x6300 RGB PNG decodes to 159 MB in
Pillow's 4-bytes-per-pixel layout; cleaning it used to peak about 450 MB above the start (several
full-size copies). Now the decoded image is shrunk in place first, so one full-size buffer exists; and since
issue 30 a PNG over the decode budget (16 MP) is refused before decoding (test_decode_budget.py), so the
largest PNG decoded here is one within it.
"""

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from diagnosis.imaging import clean_upload

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

data = open(sys.argv[1], "rb").read()
before = peak_mb()
clean = clean_upload(data, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_side=64, stored_max_side=2048)
print(json.dumps({"growth_mb": peak_mb() - before, "size": [clean.width, clean.height]}))
"""


def test_cleaning_the_largest_png_within_the_budget_keeps_one_full_size_buffer(tmp_path):
    side = 3990  # 15.9 MP: just under SCAN_DECODE_MAX_PIXELS
    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    del image
    path = tmp_path / "huge.png"
    path.write_bytes(out.getvalue())
    assert path.stat().st_size < 1024 * 1024  # small file, huge canvas

    result = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["size"] == [2048, 2048]
    full_size_mb = side * side * 4 / 2**20  # one decoded buffer
    assert figures["growth_mb"] < full_size_mb + 80, figures
