"""Photos that compare over time, in the real browser at 360 px and on a desktop, in English and Spanish (issue 32):
the compare slider's caption under the photo, never over the face (point 5); the after face laid over the before
face (found again on the page's own pixels by the server's detector); the "ghost" of the last photo over the
live camera (Chromium's fake camera), with its control, nothing for a first photo and nothing offline; axe-core
clean on each.
"""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from ml.core import alignment, faces, preprocess
from tests.support import browser_log_in, face_shot, fake_camera_browser, jpeg_of, open_camera, service_worker_ready
from tests.test_browser_capture_offline import close_face, watch_errors, y4m
from tests.test_browser_mobile import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-secret-42"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}


def scan_of(owner, days_ago, photo, label="acne", probabilities=None):
    width, height = Image.open(io.BytesIO(photo)).size
    made = ScanFactory(owner=owner, image=ContentFile(photo, name="p.jpg"), image_width=width, image_height=height,
                       label=label, probabilities=probabilities or {"acne": 0.7, "eczema": 0.1, "healthy": 0.15,
                                                                    "rosacea": 0.05})
    when = timezone.now() - timedelta(days=days_ago)
    Scan.objects.filter(id=made.id).update(created_at=when)
    return made


def in_language(page, language):
    if page.evaluate("document.documentElement.lang") != language:
        page.select_option("#language-select", language)
        page.click(".language-menu button")
        page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == language


def box_of(page, selector):
    return page.locator(selector).bounding_box()


def overlaps(a, b):
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def face_on_screen(page, split):
    """The face the server's detector finds on the slider as drawn, with the line at ``split`` %:
    0 shows the after photo (as moved), 100 the before photo. -> box (x0, y0, x1, y1) in the frame's pixels."""
    page.evaluate("""(split) => { const r = document.getElementById('slider-range');
                                  r.value = String(split); r.dispatchEvent(new Event('input')); }""", split)
    shot = page.locator("#slider-frame").screenshot(animations="disabled")
    rgb = preprocess.load_rgb(Image.open(io.BytesIO(shot)).convert("RGB"))
    face = faces.detect_face(rgb)
    assert face is not None, split
    return face.x, face.y, face.x + face.w, face.y + face.h


@pytest.fixture
def two_scans(django_user_model):
    user = django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)
    before = scan_of(user, 21, jpeg_of(face_shot()))
    after = scan_of(user, 1, jpeg_of(face_shot(1.22, -0.12, 0.07, 6.0)), label="healthy",
                    probabilities={"acne": 0.2, "eczema": 0.05, "healthy": 0.7, "rosacea": 0.05})
    return user, before, after


def test_the_compare_caption_leaves_the_face_free_and_the_faces_are_lined_up(live_server, browser_page, two_scans):
    _, before, after = two_scans
    page = browser_page
    problems = watch_errors(page)
    base = live_server.url
    browser_log_in(page, base, "maria@example.com", PASSWORD)
    url = f"{base}/scans/compare/?scan={before.id}&scan={after.id}"
    for language in ("en-gb", "es"):
        for name, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            page.goto(url)
            in_language(page, language)
            page.wait_for_function("() => document.getElementById('compare-slider').dataset.aligned === 'true'")
            page.wait_for_function("() => Array.from(document.querySelectorAll('#slider-frame img'))"
                                   ".every(i => i.complete && i.naturalWidth > 0)")
            where = (language, name)
            frame, caption = box_of(page, "#slider-frame"), box_of(page, "#compare-slider figcaption")
            lower = {**frame, "y": frame["y"] + 0.6 * frame["height"], "height": 0.4 * frame["height"]}
            assert not overlaps(caption, lower), (where, caption, frame)  # point 5: not over the chin and jaw
            assert caption["y"] >= frame["y"] + frame["height"] - 0.5, where  # under the photo
            assert page.locator("#compare-aligned").is_visible(), where
            # The face as the page draws it: the before photo, then the after photo moved by the alignment.
            face_before, face_after = face_on_screen(page, 100), face_on_screen(page, 0)
            for tag in (".slider-tag-before", ".slider-tag-after"):  # the tags in the top corners, off the face
                t = box_of(page, tag)
                x0, y0, x1, y1 = face_before
                face = {"x": frame["x"] + x0, "y": frame["y"] + y0, "width": x1 - x0, "height": y1 - y0}
                assert not overlaps(t, face), (where, tag)
            ratio, offset = alignment.box_difference(face_before, face_after)
            assert ratio < 1.06 and offset < 0.08, (where, ratio, offset)
            if name == "phone":
                assert page.evaluate("document.documentElement.scrollWidth") <= 360, where
                assert axe_violations(page, base) == [], where
    # Without the alignment the two faces would be far apart: the after photo drawn as it is.
    page.evaluate("document.querySelector('.slider-after').style.transform = 'none'")
    ratio, offset = alignment.box_difference(face_on_screen(page, 100), face_on_screen(page, 0))
    assert ratio > 1.1 or offset > 0.2, (ratio, offset)
    assert problems == []


def test_a_landscape_after_photo_is_lined_up_too(live_server, browser_page, django_user_model):
    """Photos of other shapes are drawn cropped (object-fit: cover): the alignment allows for each one's crop."""
    user = django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)
    before = scan_of(user, 9, jpeg_of(face_shot()))
    after = scan_of(user, 2, jpeg_of(face_shot(0.85, 0.08, -0.04, -5.0, size=(800, 600))))
    page = browser_page
    page.set_viewport_size(VIEWPORTS["phone"])
    browser_log_in(page, live_server.url, "maria@example.com", PASSWORD)
    page.goto(f"{live_server.url}/scans/compare/?scan={before.id}&scan={after.id}")
    page.wait_for_function("() => document.getElementById('compare-slider').dataset.aligned === 'true'")
    page.wait_for_function("() => Array.from(document.querySelectorAll('#slider-frame img'))"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    ratio, offset = alignment.box_difference(face_on_screen(page, 100), face_on_screen(page, 0))
    assert ratio < 1.06 and offset < 0.08, (ratio, offset)


@pytest.fixture
def ghost_camera(chromium, tmp_path):
    video = y4m(close_face((480, 600)), tmp_path / "face.y4m")
    with fake_camera_browser(chromium, video) as context:
        yield context


@pytest.mark.parametrize("language", ["en-gb", "es"])
def test_the_last_photo_shows_as_a_ghost_over_the_camera(live_server, ghost_camera, django_user_model, language):
    page = ghost_camera.new_page()
    problems = watch_errors(page)
    base = live_server.url
    newcomer = django_user_model.objects.create_user(email="nuevo@example.com", password=PASSWORD)
    person = django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)
    mine = scan_of(person, 12, jpeg_of(close_face((480, 600))))
    assert newcomer.scans.count() == 0

    # A first photo: no ghost, no control.
    browser_log_in(page, base, "nuevo@example.com", PASSWORD)
    in_language(page, language)
    open_camera(page)
    assert page.locator("#camera-ghost").count() == 0 and page.locator("#camera-ghost-toggle").count() == 0
    page.click("#camera-close")
    ghost_camera.clear_cookies()

    browser_log_in(page, base, "maria@example.com", PASSWORD)
    in_language(page, language)
    open_camera(page)
    page.wait_for_selector("#camera-ghost:not([hidden])")
    ghost = page.evaluate("""() => { const g = document.getElementById('camera-ghost'), s = getComputedStyle(g);
        return { src: g.getAttribute('src'), loaded: g.naturalWidth > 0, opacity: Number(s.opacity),
                 transform: s.transform }; }""")
    assert ghost["src"] == f"/media/scans/{mine.id}/front/image.jpg" and ghost["loaded"]
    assert 0.2 <= ghost["opacity"] <= 0.6 and ghost["transform"].startswith("matrix(-1")  # faint, mirrored
    video, shown = box_of(page, "#camera-video"), box_of(page, "#camera-ghost")
    assert all(abs(video[k] - shown[k]) < 1 for k in ("x", "y", "width", "height"))  # exactly over the camera
    toggle = page.locator("#camera-ghost-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-pressed") == "true"
    said = "Show my last photo" if language == "en-gb" else "Mostrar mi última foto"
    assert toggle.inner_text().strip().endswith(said)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page, base) == []  # the live view with its ghost and control
    toggle.click()
    assert page.locator("#camera-ghost").is_hidden() and toggle.get_attribute("aria-pressed") == "false"
    assert page.locator("#camera").get_attribute("data-ghost") == "off"
    toggle.click()
    assert page.locator("#camera-ghost").is_visible()
    page.click("#camera-close")

    # A side photo never taken before: no ghost for it.
    left = "button.side-camera[data-side='image_left']"
    open_camera(page, left)
    assert page.locator("#camera-ghost").is_hidden() and page.locator("#camera-ghost-control").is_hidden()
    page.click("#camera-close")

    # Offline, the kept upload page is nobody's: no ghost, and no photo was ever kept on the device.
    service_worker_ready(page)
    ghost_camera.set_offline(True)
    page.reload()
    page.wait_for_selector(".offline-banner")
    assert page.locator("#camera-ghost").count() == 0 and page.locator("#capture-ghosts").count() == 0
    kept = page.evaluate("""async () => { const urls = [];
        for (const name of await caches.keys()) {
            for (const r of await (await caches.open(name)).keys()) { urls.push(r.url); } }
        return urls; }""")
    assert kept and not [u for u in kept if "/media/" in u]
    ghost_camera.set_offline(False)
    assert [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
