"""Do the page and the server find the same faces? The server's BlazeFace (``ml.core.faces``) and the page's copy of
it (static/js/blazeface.js with static/vendor/blazeface/, run in headless Chromium exactly as static/js/capture.js
runs it) on the same real face photos (issue 29).

Usage: python bench/browser_face_detector.py [--data ../shared/data/skin4] [--per-set 60] [--seed 0]

Sets: ``selfie`` real rosacea faces collected from the web, mostly selfie or phone style; ``side`` ACNE04 clinic
photos of one side of the face, close up; ``acne`` web acne close-ups; ``stock`` healthy stock portraits;
``crop`` UTKFace 200 px face crops (healthy); ``arm`` those faces placed at arm's length (the face a third of the
shorter side of a 720 x 960 photo, as a phone held out shows it). A face counts as found when the detector returns
a face of a judgeable size (``faces.detect_face``); "agree" is the same answer with boxes at IoU >= 0.8. Prints the
CPU, flags and load (bench/machine.py).
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

SETS = {"selfie": "rosacea_web_rishik15", "side": "acne04_roboflow", "acne": "acne_web_elredeny",
        "stock": "normal_stock_faces_charvikm45", "crop": "utkface"}
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


def server_faces(images: list[bytes]) -> list[list[float] | None]:
    """The server's answer, as the Predictor decodes a photo: [x0, y0, x1, y1] in the photo's pixels, or None."""
    from ml.core import faces, preprocess

    out: list[list[float] | None] = []
    for b in images:
        rgb, scale = preprocess.decode(b, draft_side=preprocess.DECODE_SIDE)
        f = faces.detect_face(rgb)
        out.append(None if f is None else [v * scale for v in (f.x, f.y, f.x + f.w, f.y + f.h)])
    return out


def page_faces(sets: dict[str, list[bytes]]) -> dict[str, list[list[float] | None]]:
    from playwright.sync_api import sync_playwright

    static = ROOT / "static"

    def serve(route):
        path = route.request.url[len(PAGE):]
        if path.startswith("static/"):
            body = (static / path[len("static/"):]).read_bytes()
            kind = {"js": "application/javascript", "json": "application/json"}.get(path.rsplit(".", 1)[-1],
                                                                                    "application/octet-stream")
            route.fulfill(status=200, body=body, content_type=kind)
        else:
            route.fulfill(status=200, body="<html><body></body></html>", content_type="text/html")

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    out = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.route(PAGE + "**", serve)
        page.goto(PAGE)
        page.add_script_tag(url=PAGE + "static/js/blazeface.js")
        page.evaluate("() => FaceDiagBlazeFace.load('" + PAGE + "static/vendor/blazeface/blazeface.json')")
        for name, images in sets.items():
            found = []
            for b in images:
                url = "data:image/jpeg;base64," + base64.b64encode(b).decode()
                found.append(page.evaluate(
                    """async (url) => {
                        const img = new Image(); img.src = url; await img.decode();
                        const px = FaceDiagBlazeFace.pixels(img, img.naturalWidth, img.naturalHeight), s = px.scale;
                        const f = FaceDiagBlazeFace.detectFaces(px, false).face;
                        return f && [f.x * s, f.y * s, (f.x + f.width) * s, (f.y + f.height) * s];
                    }""", url))
            out[name] = found
        browser.close()
    return out


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


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
    parser.add_argument("--per-set", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-only", action="store_true", help="BlazeFace on the server only (no Chromium)")
    parser.add_argument("--no-tiles", action="store_true", help="skip the small-face search timing")
    args = parser.parse_args()
    print(cpu_summary())
    print(machine_state())
    sets = photos(Path(args.data), args.per_set, args.seed)
    t0 = time.perf_counter()
    server = {name: server_faces(images) for name, images in sets.items()}
    t1 = time.perf_counter()
    browser = {k: [None] * len(v) for k, v in sets.items()} if args.server_only else page_faces(sets)
    t2 = time.perf_counter()
    print(f"\n{'set':<8}{'n':>4}{'server':>9}{'page':>9}{'agree':>8}{'IoU med':>9}")
    for name in sets:
        s, b = server[name], browser[name]
        hit_s = np.mean([x is not None for x in s])
        hit_b = np.mean([x is not None for x in b])
        agree = np.mean([(x is None and y is None) or (x is not None and y is not None and iou(x, y) >= 0.8)
                         for x, y in zip(s, b, strict=True)])
        ious = [iou(x, y) for x, y in zip(s, b, strict=True) if x is not None and y is not None]
        page = "not run" if args.server_only else f"{100 * hit_b:.1f}%"
        print(f"{name:<8}{len(s):>4}{100 * hit_s:>8.1f}%{page:>9}"
              + ("" if args.server_only else f"{100 * agree:>7.1f}%{np.median(ious) if ious else float('nan'):>9.3f}"))
    n = sum(len(v) for v in sets.values())
    print(f"server {1000 * (t1 - t0) / n:.0f} ms a photo (OpenCV DNN)" + ("" if args.server_only else
          f"; the page {1000 * (t2 - t1) / n:.0f} ms (headless Chromium, plain JavaScript, page start included)"))
    if not args.no_tiles:
        small_face_search_cost()
    print(machine_state())


if __name__ == "__main__":
    main()
