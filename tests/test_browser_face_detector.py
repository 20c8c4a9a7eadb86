"""The page's face detector (static/js/blazeface.js) and the server's (ml.core.faces) find the same faces (issue 29).

Both run BlazeFace (the short-range model, then the full-range one, then the small-face search in tiles); the
page runs it in plain JavaScript from static/vendor/blazeface/, served by this site. On real face photos
(ml/samples and the photos the capture tests build from them) and on photos without a face, headless Chromium
must give the same answer as the server: the same face found or not, a box overlapping the server's by an IoU
of at least 0.8, about the same score; and the same small face where the server finds only a small one.
"""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from ml.core import faces, preprocess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parent.parent / "ml" / "samples"


def jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def photos() -> dict[str, bytes]:
    astronaut = Image.open(SAMPLES / "astronaut_face.jpg").convert("RGB")
    far = Image.new("RGB", (1200, 1600), (168, 172, 178))
    far.paste(astronaut, (400, 450))  # a face of about 100 px in a large photo: only the tile search finds it
    wide = Image.new("RGB", (900, 600), (160, 165, 170))
    wide.paste(astronaut.crop((98, 4, 254, 199)).resize((360, 450), Image.LANCZOS), (270, 75))
    middle = Image.new("RGB", (660, 660), (150, 160, 170))
    middle.paste(astronaut, (130, 130))  # a face of 82 px: too far for the short-range model, not for the full
    side = astronaut.crop((60, 0, 330, 300)).rotate(20, expand=True, fillcolor=(120, 120, 120))
    return {
        "astronaut": (SAMPLES / "astronaut_face.jpg").read_bytes(),
        "close-up": (SAMPLES / "astronaut_face_close.jpg").read_bytes(),
        "filling the outline": jpeg(astronaut.crop((98, 4, 254, 199)).resize((480, 600), Image.LANCZOS)),
        "mirrored, tilted": jpeg(ImageOps.mirror(side)),
        "landscape": jpeg(wide),
        "large photo (2400 px)": jpeg(astronaut.resize((2400, 2400), Image.LANCZOS)),
        "a few steps back": jpeg(middle),
        "far away": jpeg(far),
        "cat": (SAMPLES / "chelsea_cat.jpg").read_bytes(),
        "coffee cup": (SAMPLES / "coffee_cup.jpg").read_bytes(),
    }


def server(data: bytes):
    """-> (face, small face) as the server finds them, boxes [x0, y0, x1, y1] in the photo's own pixels."""
    rgb, scale = preprocess.decode(data, draft_side=preprocess.DECODE_SIDE)
    face, small = faces.detect_faces(rgb)

    def box(f):
        return None if f is None else {"box": [v * scale for v in (f.x, f.y, f.x + f.w, f.y + f.h)], "score": f.score,
                                      "kind": f.kind}
    return box(face), box(small)


DETECT = """async (url) => {
    const img = new Image(); img.src = url; await img.decode();
    const api = await FaceDiagBlazeFace.load(document.body.dataset.graph);
    const px = api.pixels(img, img.naturalWidth, img.naturalHeight);
    const found = api.detectFaces(px, true), s = px.scale;
    const box = (f) => f && {box: [f.x * s, f.y * s, (f.x + f.width) * s, (f.y + f.height) * s],
                             score: f.score, kind: f.kind};
    return [box(found.face), box(found.small)];
}"""


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture
def detector_page(live_server, chromium):
    """A page of this site with the detector script, as the upload page loads it (no other origin)."""
    with chromium.using() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(live_server.url + "/static/vendor/blazeface/blazeface.json")
        page.evaluate("""(graph) => { document.body.dataset.graph = graph; }""",
                      live_server.url + "/static/vendor/blazeface/blazeface.json")
        page.add_script_tag(url=live_server.url + "/static/js/blazeface.js")
        yield page
        loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert all(url.startswith(live_server.url) for url in loaded), loaded
        context.close()


def test_the_page_and_the_server_find_the_same_faces(detector_page):
    found = {}
    for name, data in photos().items():
        url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        page_face, page_small = detector_page.evaluate(DETECT, url)
        server_face, server_small = server(data)
        found[name] = (page_face, server_face)
        for what, mine, theirs in (("face", page_face, server_face), ("small face", page_small, server_small)):
            assert (mine is None) == (theirs is None), f"{name}: {what} page {mine} server {theirs}"
            if mine is not None:
                assert iou(mine["box"], theirs["box"]) >= 0.8, f"{name}: {what} page {mine} server {theirs}"
                assert mine["score"] == pytest.approx(theirs["score"], abs=0.05), name
                assert mine["kind"] == theirs["kind"], name
    # The set covers each answer: faces found by each model, a small face only, and no face.
    kinds = {name: (p or {}).get("kind") for name, (p, _s) in found.items()}
    assert kinds["astronaut"] == "short" and kinds["a few steps back"] == "full"
    assert kinds["far away"] is None and found["far away"][1] is None and kinds["cat"] is None
    assert sum(p is not None for p, _s in found.values()) >= 6, kinds
    assert np.isfinite([p["score"] for p, _s in found.values() if p]).all()

