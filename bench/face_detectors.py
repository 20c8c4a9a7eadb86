"""Do the browser and the server find the same faces? The server's BlazeFace (``ml.core.faces``) and the page's
face-api Tiny Face Detector (static/vendor/face-api, run in headless Chromium exactly as static/js/capture.js
runs it: input 416 then 608, score 0.5) on the same real face photos (issue 29).

Usage: python bench/face_detectors.py [--data ../shared/data/skin4] [--per-set 40] [--seed 0]

Sets: ``selfie`` real rosacea faces collected from the web, mostly selfie or phone style; ``side`` ACNE04
clinic photos of one side of the face, close up; ``crop`` UTKFace 200 px face crops; ``arm`` the UTKFace faces
placed at arm's length (the face a third of the shorter side of a 720 x 960 photo, as a phone held out shows it).
A face counts as found when the detector returns any face. Prints the CPU, flags and load (bench/machine.py).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import os
import random
import shutil
import sys
import time
from pathlib import Path

from machine import cpu_summary, machine_state

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

SETS = {"selfie": "rosacea_web_rishik15", "side": "acne04_roboflow", "crop": "utkface"}
PAGE = "http://bench.invalid/"


def photos(data: Path, per_set: int, seed: int) -> dict[str, list[bytes]]:
    rows = list(csv.DictReader(open(data / "manifest.csv")))
    rng = random.Random(seed)
    out: dict[str, list[bytes]] = {}
    for name, source in SETS.items():
        paths = sorted(r["path"] for r in rows if r["source"] == source)
        out[name] = [(data / p).read_bytes() for p in rng.sample(paths, min(per_set, len(paths)))]
    out["arm"] = [arm_length(b) for b in out["crop"]]
    return out


def arm_length(jpeg_bytes: bytes) -> bytes:
    """A face crop placed so the face spans about a third of a 720 x 960 photo's shorter side."""
    face = Image.open(io.BytesIO(jpeg_bytes)).convert("RGB").resize((360, 360), Image.LANCZOS)
    canvas = Image.new("RGB", (720, 960), (150, 160, 170))
    canvas.paste(face, (180, 250))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def blazeface(images: list[bytes]) -> list[bool]:
    from ml.core import faces, preprocess

    return [faces.detect_face(preprocess.load_rgb(b)) is not None for b in images]


def tiny_face_detector(sets: dict[str, list[bytes]]) -> dict[str, list[bool]]:
    from playwright.sync_api import sync_playwright

    vendor = ROOT / "static" / "vendor" / "face-api"

    def serve(route):
        path = route.request.url[len(PAGE):]
        if path.startswith("face-api/"):
            body = (vendor / path[len("face-api/"):]).read_bytes()
            kind = "application/javascript" if path.endswith(".js") else "application/octet-stream"
            route.fulfill(status=200, body=body, content_type=kind)
        else:
            route.fulfill(status=200, body="<html><body></body></html>", content_type="text/html")

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    out = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page()
        page.route(PAGE + "**", serve)
        page.goto(PAGE)
        page.add_script_tag(url=PAGE + "face-api/face-api.js")
        page.evaluate("() => faceapi.nets.tinyFaceDetector.loadFromUri('" + PAGE + "face-api/model')")
        for name, images in sets.items():
            found = []
            for b in images:
                url = "data:image/jpeg;base64," + base64.b64encode(b).decode()
                found.append(page.evaluate(
                    """async (url) => {
                        const img = new Image(); img.src = url; await img.decode();
                        for (const size of [416, 608]) {
                          const o = new faceapi.TinyFaceDetectorOptions({inputSize: size, scoreThreshold: 0.5});
                          if ((await faceapi.detectAllFaces(img, o)).length) return true;
                        }
                        return false;
                    }""", url))
            out[name] = found
        browser.close()
    return out


def small_face_search_cost(repeats: int = 5) -> None:
    """What the small-face search (``faces.detect_faces``: overlapping tiles when no judgeable face is found)
    adds to a 1200 x 1600 photo with no face: the cat sample blown up, and a plain wall."""
    import cv2

    from ml.core import faces

    cat = np.asarray(Image.open(ROOT / "ml" / "samples" / "chelsea_cat.jpg").convert("RGB"))
    for name, rgb in (("cat", cv2.resize(cat, (1200, 1600))), ("wall", np.full((1600, 1200, 3), 200, np.uint8))):
        faces.detect_faces(rgb)
        ms = {}
        for small in (False, True):
            t = time.perf_counter()
            for _ in range(repeats):
                faces.detect_faces(rgb, look_for_small=small)
            ms[small] = 1000 * (time.perf_counter() - t) / repeats
        print(f"face detection on a 1200 x 1600 {name} photo: {ms[False]:.0f} ms, with the small-face search "
              f"{ms[True]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "skin4"))
    parser.add_argument("--per-set", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-only", action="store_true", help="BlazeFace only (no Chromium on this machine)")
    args = parser.parse_args()
    print(cpu_summary())
    print(machine_state())
    sets = photos(Path(args.data), args.per_set, args.seed)
    t0 = time.perf_counter()
    server = {name: blazeface(images) for name, images in sets.items()}
    t1 = time.perf_counter()
    browser = {k: [False] * len(v) for k, v in sets.items()} if args.server_only else tiny_face_detector(sets)
    t2 = time.perf_counter()
    print(f"\n{'set':<8}{'n':>4}{'BlazeFace (server)':>20}{'Tiny Face Detector (page)':>27}{'both':>7}{'neither':>9}")
    for name in sets:
        s, b = np.array(server[name]), np.array(browser[name])
        page = "not run" if args.server_only else f"{100 * b.mean():.1f}%"
        print(f"{name:<8}{len(s):>4}{100 * s.mean():>19.1f}%{page:>27}"
              + ("" if args.server_only else f"{100 * (s & b).mean():>6.1f}%{100 * (~s & ~b).mean():>8.1f}%"))
    n = sum(len(v) for v in sets.values())
    print(f"BlazeFace {1000 * (t1 - t0) / n:.0f} ms a photo" + ("" if args.server_only else
          f"; the page's detector {1000 * (t2 - t1) / n:.0f} ms (headless Chromium, CPU, page start included)"))
    small_face_search_cost()
    print(machine_state())


if __name__ == "__main__":
    main()
