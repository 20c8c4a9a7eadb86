"""Guided capture and offline-safe uploads in the real browser, at 360 px (issue 23).

Capture: the example of a good photo, the outline at a face's proportions on any photo, the in-browser
face detector (BlazeFace, static/vendor/blazeface, served by this site) saying "come closer" to a small face,
and the live camera (Chromium's fake camera, fed a photo of a face) with its shutter.
Offline: a photo taken with the network off is kept on the device, shown as "waiting to upload", the
page itself opens offline, and the photo is sent once (its Idempotency-Key) when the network returns,
even with two tabs open.
"""

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diagnosis.models import Scan
from tests.support import browser_log_in, fake_camera_browser, service_worker_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-secret-42"
SAMPLE = Path(__file__).resolve().parent.parent / "ml" / "samples" / "astronaut_face.jpg"


def close_face(size=(480, 600)):
    """A public-domain portrait (ml/samples) cropped so the face fills the outline."""
    return Image.open(SAMPLE).convert("RGB").crop((98, 4, 254, 199)).resize(size, Image.LANCZOS)


def small_face():
    """The same person far from the camera: her face is a small part of a large photo."""
    canvas = Image.new("RGB", (1200, 1600), (168, 172, 178))
    canvas.paste(Image.open(SAMPLE).convert("RGB"), (400, 450))  # her face: about 100 px of 1200
    return canvas


def jpeg(image, path):
    image.save(path, "JPEG", quality=92)
    return str(path)


def y4m(image, path, frames=8):
    """A still video for Chromium's fake camera (--use-file-for-fake-video-capture): YUV 4:2:0 frames."""
    rgb = np.asarray(image, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = (b - y) * 0.564 + 128
    v = (r - y) * 0.713 + 128
    sub = lambda plane: plane.reshape(plane.shape[0] // 2, 2, plane.shape[1] // 2, 2).mean(axis=(1, 3))  # noqa: E731
    planes = b"".join(np.clip(p, 0, 255).astype(np.uint8).tobytes() for p in (y, sub(u), sub(v)))
    h, w = y.shape
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)
    return str(path)


@pytest.fixture
def camera_browser(chromium, tmp_path):
    """A Chromium with a fake camera that films a face, started by the session's Playwright (the camera is
    a launch option, so it cannot be the session's browser)."""
    video = y4m(close_face((480, 600)), tmp_path / "face.y4m")
    with fake_camera_browser(chromium, video) as context:
        yield context


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)


def log_in(page, base):
    browser_log_in(page, base, "maria@example.com", PASSWORD)


def watch_errors(page):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    return problems


def checked(page):
    page.wait_for_function("() => document.getElementById('upload-form').dataset.checked"
                           " && document.getElementById('upload-form').dataset.checked !== 'pending'", timeout=60_000)
    return page.locator("#photo-checks").inner_text()


def outline_ratio(page, scope):
    box = page.locator(f"{scope} .face-outline").bounding_box()
    return box["width"] / box["height"]


def test_guided_capture_says_come_closer_to_a_small_face(live_server, camera_browser, person, tmp_path):
    page = camera_browser.new_page()
    problems = watch_errors(page)
    base = live_server.url
    log_in(page, base)

    # Before choosing: an example of a good photo, with the outline the face should fill.
    example = page.locator(".example-photo img")
    assert example.is_visible() and page.evaluate("document.querySelector('.example-photo img').naturalWidth") > 0
    assert outline_ratio(page, ".example-photo") == pytest.approx(0.75, abs=0.02)

    page.set_input_files("#id_image", jpeg(small_face(), tmp_path / "far.jpg"))
    text = checked(page)
    assert page.evaluate("document.getElementById('upload-form').dataset.face") == "small"
    assert "Come closer" in text
    # The outline keeps a face's proportions on a portrait photo and on a landscape one.
    assert outline_ratio(page, "#preview") == pytest.approx(0.75, abs=0.02)
    assert page.locator("#face-box").is_visible()

    wide = Image.new("RGB", (900, 600), (160, 165, 170))
    wide.paste(close_face((360, 450)), (270, 75))
    page.set_input_files("#id_image", jpeg(wide, tmp_path / "wide.jpg"))
    checked(page)
    assert outline_ratio(page, "#preview") == pytest.approx(0.75, abs=0.02)

    page.set_input_files("#id_image", jpeg(close_face(), tmp_path / "near.jpg"))
    text = checked(page)
    assert page.evaluate("document.getElementById('upload-form').dataset.face") == "ok"
    assert "Face found, close enough." in text and "Come closer" not in text

    # Nothing but this site's own files was loaded for it (no CDN).
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(base) for url in loaded), [u for u in loaded if not u.startswith(base)]
    assert any("/static/vendor/blazeface/blazeface-short.bin" in url for url in loaded)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert problems == []


def test_live_camera_preview_with_the_outline_and_a_shutter(live_server, camera_browser, person):
    page = camera_browser.new_page()
    problems = watch_errors(page)
    log_in(page, live_server.url)
    page.click("#take-photo")
    page.wait_for_selector("#camera:not([hidden])")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    # The outline on the live view keeps a face's proportions, and turns "ok" once the face fills it.
    assert outline_ratio(page, "#camera") == pytest.approx(0.75, abs=0.02)
    page.wait_for_function("() => document.getElementById('camera').dataset.face === 'ok'", timeout=60_000)
    assert "Hold still" in page.locator("#camera-hint").inner_text()
    page.click("#camera-shutter")  # before the automatic photo's countdown ends (tests/test_browser_auto_capture.py)
    text = checked(page)
    assert page.locator("#camera").is_hidden() and page.locator("#preview-img").is_visible()
    assert page.evaluate("document.getElementById('id_image').files[0].name") == "selfie.jpg"
    assert "Face found" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert problems == []


def kept_on_device(page):
    return page.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('facediag-uploads');
        req.onsuccess = () => {
            const all = req.result.transaction('pending').objectStore('pending').getAll();
            all.onsuccess = () => resolve(all.result.map(i => ({key: i.key, note: i.note, state: i.state})));
        };
    })""")


def test_a_photo_taken_offline_waits_on_the_device_and_is_sent_once(live_server, camera_browser, person, tmp_path):
    context = camera_browser
    page = context.new_page()
    problems = watch_errors(page)
    base = live_server.url
    log_in(page, base)
    # The service worker takes charge and keeps the app shell, with the upload page's anonymous stand-in.
    service_worker_ready(page)
    page.reload()
    page.wait_for_function("() => caches.match('/offline/upload/').then(Boolean)")
    # The upload page fetched the face detector while idle, so the service worker keeps it too.
    page.wait_for_function("() => caches.keys().then(names => Promise.all(names.map(n => caches.open(n)"
                           ".then(c => c.match('/static/vendor/blazeface/blazeface-full.bin')))))"
                           ".then(hits => hits.some(Boolean))")

    context.set_offline(True)
    page.set_input_files("#id_image", jpeg(close_face(), tmp_path / "me.jpg"))
    assert "Face found" in checked(page)  # the checks work offline, detector included
    page.fill("#id_note", "Taken on the train")
    page.click("#upload-button")
    page.wait_for_selector("#pending-list li[data-state='waiting']")
    assert "Waiting to upload" in page.locator("#pending-uploads").inner_text()
    # written as every page writes a time (issue 32, point 6): "7 Dec 2026, 00:02", never "0:02"
    waited = page.locator("#pending-list li[data-state='waiting'] .meta").first.inner_text()
    assert re.fullmatch(r" · \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", waited), waited
    assert "offline" in page.locator("#upload-state").inner_text()
    kept = kept_on_device(page)
    assert [(k["note"], k["state"]) for k in kept] == [("Taken on the train", "waiting")]
    assert Scan.objects.count() == 0

    # Offline, the upload page still opens (from the service worker) and still shows the waiting photo;
    # a second tab has it too.
    page.reload()
    page.wait_for_selector("#pending-list li[data-state='waiting']")
    other = context.new_page()
    other.goto(base + "/scans/new/")
    other.wait_for_selector("#pending-list li[data-state='waiting']")
    other.goto(base + "/scans/")  # not kept: the offline notice instead
    assert "You are offline" in other.locator("h1").inner_text()
    other.goto(base + "/scans/new/")
    other.wait_for_selector("#pending-list li[data-state='waiting']")

    # Back online: both tabs open the real page again and try; the photo is sent once, with its key, and
    # shown as sent by the tab that sent it (either may win the race for it).
    context.set_offline(False)
    sent = "#pending-list li[data-state='sent']"
    deadline = time.monotonic() + 60
    while not (page.locator(sent).count() or other.locator(sent).count()):
        assert time.monotonic() < deadline, "the photo was not sent by either tab"
        page.wait_for_timeout(250)
    other.wait_for_selector("body[data-user]")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    other.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1500)
    scans = list(Scan.objects.all())
    assert len(scans) == 1
    assert scans[0].idempotency_key == kept[0]["key"] and scans[0].note == "Taken on the train"
    assert kept_on_device(page) == []
    sender = page if page.locator(sent).count() else other
    assert sender.locator(f"{sent} a").get_attribute("href") == f"/scans/{scans[0].id}/"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert [p for p in problems if "net::ERR_INTERNET_DISCONNECTED" not in p and "Failed to fetch" not in p] == []


def test_a_photo_refused_after_waiting_is_explained_once_and_not_kept(live_server, camera_browser, person, tmp_path):
    """Issue 32, point 10: files the server refuses piled up as "Not accepted" cards with broken thumbnails,
    kept on the device until removed one by one. Now the refusal is shown on the page where it happened,
    without a thumbnail, and the file is gone from the device."""
    page = camera_browser.new_page()
    log_in(page, live_server.url)
    page.goto(live_server.url + "/scans/new/")
    page.wait_for_function("() => window.FaceDiagUploads && window.FaceDiagUploads.available()")
    not_a_photo = tmp_path / "holiday.jpg"
    not_a_photo.write_bytes(b"these are not the pixels of any photo " * 40)
    camera_browser.set_offline(True)
    page.set_input_files("#id_image", str(not_a_photo))
    page.click("#upload-button")
    page.wait_for_selector("#pending-list li[data-state='waiting']")
    assert len(kept_on_device(page)) == 1
    camera_browser.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    card = page.wait_for_selector("#pending-list li[data-state='refused']", timeout=30_000)
    assert "not a photo we can read" in card.inner_text()
    assert not card.query_selector("img:not([hidden])")  # no broken thumbnail
    assert kept_on_device(page) == []  # not kept: nothing to remove one by one
    assert Scan.objects.count() == 0
    page.reload()
    page.wait_for_function("() => window.FaceDiagUploads")
    assert page.locator("#pending-list li").count() == 0  # explained once
