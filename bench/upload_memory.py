"""Peak memory of a web worker cleaning one upload, for every accepted format (issue 30, finding M1).

    python bench/upload_memory.py [--rev GIT_REV]

For each case (a phone photo of 4032x3024, 4608x3456 and 2656x2000 (the largest PNG and WebP within the
decode budget), a long thin 16383x2400 and a square 6300x6300 canvas, each as JPEG, PNG and WebP, plus a
truncated 6300x6300 PNG), a fresh child process imports Django and
`diagnosis/imaging.py`, reads its peak RSS (VmHWM), runs `clean_upload` with the default settings, and reads
the peak again. `--rev` measures the imaging.py of another commit too (e.g. the one before the decode
budget), so both figures come from the same machine and run. Prints the CPU model, then per case and variant
`PEAK_GROWTH_MB`, the CPU seconds of the call, and what came out (the stored size, or the refusal's code).
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import importlib.util, json, os, sys, time
import django
django.setup()
from django.conf import settings


def peak_mb():  # VmHWM: this process image's own peak (ru_maxrss would include the parent's, via fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


spec = importlib.util.spec_from_file_location("imaging_under_test", sys.argv[1])
imaging = importlib.util.module_from_spec(spec)
spec.loader.exec_module(imaging)
data = open(sys.argv[2], "rb").read()
limits = dict(max_bytes=settings.SCAN_MAX_UPLOAD_BYTES, max_pixels=settings.SCAN_MAX_PIXELS,
              min_side=settings.SCAN_MIN_SIDE, stored_max_side=settings.SCAN_STORED_MAX_SIDE)
if "decode_max_pixels" in imaging.clean_upload.__code__.co_varnames:
    limits["decode_max_pixels"] = settings.SCAN_DECODE_MAX_PIXELS
before, cpu = peak_mb(), time.process_time()
try:
    clean = imaging.clean_upload(data, **limits)
    outcome = f"stored {clean.width}x{clean.height}"
except imaging.UploadRejected as exc:
    outcome = f"refused {exc.code} ({exc.status})"
print(json.dumps({"growth_mb": peak_mb() - before, "cpu_s": time.process_time() - cpu, "outcome": outcome}))
"""


def make_image(width, height, fmt):
    """A skin-toned picture with soft bands and a little noise: a small file, a full-size decode."""
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 60, width, dtype=np.float32)[None, :] + np.linspace(0, 40, height, dtype=np.float32)[:, None]
    pixels = np.stack([150 + ramp, 110 + ramp, 90 + ramp], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, fmt, compress_level=9)
    else:
        image.save(out, fmt, quality=85)
    return out.getvalue()


# a phone photo; just under the budget for PNG (16 MP) and for WebP (5.3 MP); the outside test's long thin WebP
CASES = [(4032, 3024), (4608, 3456), (2656, 2000), (16383, 2400), (6300, 6300)]


def measure(imaging_path, image_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="facediag_site.settings", DJANGO_READ_DOT_ENV="false",
               DJANGO_SECRET_KEY="bench-only-secret-key-0123456789", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", CHILD, str(imaging_path), str(image_path)], capture_output=True,
                            text=True, env=env, cwd=ROOT)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", help="also measure diagnosis/imaging.py as of this git revision")
    args = parser.parse_args()

    print(f"CPU: {machine_state()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        variants = []
        if args.rev:
            old = tmp / "imaging_old.py"
            old.write_text(subprocess.run(["git", "show", f"{args.rev}:diagnosis/imaging.py"], cwd=ROOT,
                                          capture_output=True, text=True, check=True).stdout)
            variants.append((args.rev, old))
        variants.append(("working tree", ROOT / "diagnosis" / "imaging.py"))
        files = []
        for width, height in CASES:
            for fmt in ("JPEG", "PNG", "WEBP"):
                path = tmp / f"{width}x{height}.{fmt.lower()}"
                path.write_bytes(make_image(width, height, fmt))
                files.append((f"{fmt} {width}x{height}", path))
        whole = (tmp / "6300x6300.png").read_bytes()
        truncated = tmp / "truncated.png"
        truncated.write_bytes(whole[: len(whole) * 2 // 3])
        files.append(("PNG 6300x6300 truncated", truncated))
        for label, path in files:
            print(f"{label} ({path.stat().st_size / 1024:.0f} KB):")
            for name, imaging_path in variants:
                figures = measure(imaging_path, path)
                print(f"  {name:>12}: PEAK_GROWTH_MB={figures['growth_mb']:.0f} cpu_s={figures['cpu_s']:.2f} "
                      f"{figures['outcome']}")


if __name__ == "__main__":
    main()
