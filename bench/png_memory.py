"""Peak memory of cleaning one huge-dimension upload (default: a small PNG of 6300x6300 pixels).

    python bench/png_memory.py [--side 6300] [--format PNG] [--rev GIT_REV]

Each measurement runs in a fresh child process: it imports Pillow and `diagnosis/imaging.py`,
reads its peak RSS (VmHWM), runs `clean_upload` on the file with the default limits, and
reads the peak again. `--rev` measures the imaging.py of another commit (e.g. the one before a
fix) next to the working tree's, so both figures come from the same machine and run.
Prints the CPU model, the file size, and per variant `PEAK_RSS_MB` before and after the call.
"""

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import machine_state

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import importlib.util, json, sys


def peak_mb():  # VmHWM: this process image's own peak (ru_maxrss would include the parent's, via fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


spec = importlib.util.spec_from_file_location("imaging_under_test", sys.argv[1])
imaging = importlib.util.module_from_spec(spec)
spec.loader.exec_module(imaging)
data = open(sys.argv[2], "rb").read()
before = peak_mb()
clean = imaging.clean_upload(data, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_side=64,
                             stored_max_side=2048)
after = peak_mb()
print(json.dumps({"before_mb": before, "after_mb": after, "stored": [clean.width, clean.height]}))
"""


def make_image(side, fmt):
    """A skin-toned picture with soft bands: compresses to a small file, decodes to side*side*3 bytes."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    image = Image.merge("RGB", [band.point(lambda v, o=o: 120 + (v // 3) + o) for band, o in
                                zip(image.split(), (70, 30, 10), strict=True)])
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, fmt, optimize=True)
    else:
        image.save(out, fmt, quality=90)
    return out.getvalue()


def measure(imaging_path, image_path):
    result = subprocess.run([sys.executable, "-c", CHILD, str(imaging_path), str(image_path)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=6300)
    parser.add_argument("--format", default="PNG", choices=["PNG", "JPEG", "WEBP"])
    parser.add_argument("--rev", help="also measure diagnosis/imaging.py as of this git revision")
    args = parser.parse_args()

    print(f"CPU: {machine_state()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image_path = tmp / f"huge.{args.format.lower()}"
        image_path.write_bytes(make_image(args.side, args.format))
        print(f"file: {args.format} {args.side}x{args.side}, {image_path.stat().st_size / 1024:.0f} KB")
        variants = []
        if args.rev:
            old = tmp / "imaging_old.py"
            old.write_text(subprocess.run(["git", "show", f"{args.rev}:diagnosis/imaging.py"], cwd=ROOT,
                                          capture_output=True, text=True, check=True).stdout)
            variants.append((args.rev, old))
        variants.append(("working tree", ROOT / "diagnosis" / "imaging.py"))
        for name, path in variants:
            figures = measure(path, image_path)
            print(f"{name}: PEAK_RSS_MB before={figures['before_mb']:.0f} after={figures['after_mb']:.0f} "
                  f"(+{figures['after_mb'] - figures['before_mb']:.0f}), stored {figures['stored']}")


if __name__ == "__main__":
    main()
