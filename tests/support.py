"""Builders for test images and small helpers shared by the test modules."""

import contextlib
import io
import shutil
import struct
import time
import zlib

import numpy as np
from PIL import Image


def image_bytes(fmt="JPEG", size=(320, 240), color=(200, 150, 130), mode="RGB", **save_kwargs):
    image = Image.new(mode, size, color)
    out = io.BytesIO()
    image.save(out, fmt, **save_kwargs)
    return out.getvalue()


def face_like_jpeg(size=(400, 400), seed=0):
    """A skin-toned, textured picture (not a real face) that decodes like a phone photo."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    base = np.array([205, 160, 135], dtype=np.float32)
    noise = rng.normal(0, 12, (h, w, 3))
    img = np.clip(base + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(img).save(out, "JPEG", quality=90)
    return out.getvalue()


def png_bomb_header(width=30000, height=30000):
    """A tiny PNG whose header claims a huge canvas (decompression-bomb style)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_with_exif_orientation(orientation, size=(300, 200)):
    """A JPEG whose pixels are wide but whose EXIF says to rotate it."""
    image = Image.new("RGB", size, (180, 120, 100))
    image.paste((20, 20, 200), (0, 0, size[0] // 4, size[1]))  # a marker on the left edge
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # a GPS block that must not survive
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def media_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def wait_for_status(scan_id, statuses, timeout=90.0, interval=0.2):
    """Poll the database until the scan reaches one of `statuses`; returns the scan."""
    import time

    from diagnosis.models import Scan

    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        scan = Scan.objects.get(id=scan_id)
        if scan.status in statuses:
            return scan
        if time.monotonic() > deadline:
            raise AssertionError(f"scan {scan_id} stayed {scan.status!r}, wanted {sorted(statuses)}")
        time.sleep(interval)


def wait_for_worker_ready(proc, log_path, timeout=180.0):
    """Until a Celery worker started as ``proc`` logs " ready."; fails with the log's tail if it dies first."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + timeout
    while b" ready." not in Path(log_path).read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, Path(log_path).read_text()[-3000:]
        time.sleep(0.2)


def stop_process_group(proc, timeout=30):
    """SIGTERM a process started with ``start_new_session=True`` and its children; SIGKILL if it lingers."""
    import os
    import subprocess

    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def browser_log_in(page, base, email, password):
    """Signs in through the real login form in a Playwright ``page`` and waits for the upload page."""
    page.goto(base + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/scans/new/")


def page_settled(page):
    """After ``page.goto`` (which waits for the load event: the page, its styles, scripts and images): what the
    page's scripts fetch and draw after loading is in place too. Such a part says so with aria-busy until it is
    (the history charts, static/js/history-chart.js). Work that does not change the page (the service worker's
    install, the face detector's files fetched while idle) is not waited for."""
    page.wait_for_function("() => document.querySelector('[aria-busy=true]') === null")


def service_worker_ready(page, timeout=30.0):
    """The service worker has installed (its shell kept) and looks after this page."""
    deadline = time.monotonic() + timeout
    while True:
        # Until it looks after the page with its shell kept, or has installed and activated without taking this
        # page (its claim came while the page was still loading): checked as often as the page can answer.
        page.wait_for_function("""async () => {
            const shell = (await caches.keys()).some(n => n.startsWith('facediag-shell-'));
            if (!shell) { return false; }
            if (navigator.serviceWorker.controller !== null) { return true; }
            const registration = await navigator.serviceWorker.getRegistration();
            return Boolean(registration && registration.active && registration.active.state === 'activated');
        }""", polling=50, timeout=max(1.0, deadline - time.monotonic()) * 1000)
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            return
        assert time.monotonic() < deadline, "the service worker never took charge of the page"
        page.reload()  # installed while this page was loading: the reloaded page is its


def open_camera(page, button="#take-photo"):
    """Opens the upload page's live camera and waits for its first frame."""
    page.click(button)
    page.wait_for_selector("#camera:not([hidden])")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")


@contextlib.contextmanager
def fake_camera_browser(chromium, video):
    """A 360 px Chromium context whose fake camera films ``video`` (a .y4m file), camera allowed; started by the
    session's Playwright (``chromium`` fixture): the camera is a launch option, so it cannot be the session's
    browser."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with chromium.using():
        browser = chromium.playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={video}"])
        try:
            context = browser.new_context(viewport={"width": 360, "height": 740})
            context.grant_permissions(["camera"])
            context.set_default_timeout(60_000)  # two shared cores: the face detector can be slow to start
            yield context
        finally:
            browser.close()


#: ml/samples/astronaut_face.jpg (public domain): the face's centre in its 400 x 400 pixels.
ASTRONAUT_FACE_CENTRE = (176, 100)


def face_shot(scale=1.0, dx=0.0, dy=0.0, angle=0.0, size=(480, 600), background=(150, 160, 170)):
    """A phone-like photo of the same real face (the ml/samples portrait) framed as a retake would be: ``scale``
    times its reference size (the face about 40 % of the width), its centre moved by ``dx``, ``dy`` (fractions of
    the width and height) from the middle, turned ``angle`` degrees (counter-clockwise). -> a PIL image."""
    from pathlib import Path

    sample = Path(__file__).resolve().parent.parent / "ml" / "samples" / "astronaut_face.jpg"
    source = Image.open(sample).convert("RGB")
    zoom = 2.2 * scale
    big = source.resize((round(source.width * zoom), round(source.height * zoom)), Image.LANCZOS)
    fx, fy = ASTRONAUT_FACE_CENTRE[0] * zoom, ASTRONAUT_FACE_CENTRE[1] * zoom
    if angle:  # about the face's centre, so the face stays where it was put
        big = big.rotate(angle, center=(fx, fy), resample=Image.BICUBIC, fillcolor=background)
    canvas = Image.new("RGB", size, background)
    canvas.paste(big, (round(size[0] / 2 + dx * size[0] - fx), round(size[1] / 2 + dy * size[1] - fy)))
    return canvas


def jpeg_of(image, quality=92) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
