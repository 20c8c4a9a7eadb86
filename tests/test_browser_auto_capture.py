"""Guided auto-capture in the real browser with Chromium's fake camera (issue 29).

The live view takes the photo by itself, after a visible countdown, once the face is found, large, lit and sharp
enough for the server's gates (ml/core/decision.photo_gate); the countdown can be cancelled and the shutter
button still works; a blurred or dark face is never taken and the tip names the problem; the side photos of a
three-photo scan use the same camera and checks, each with its own preview.
"""


import pytest
from PIL import ImageEnhance, ImageFilter

from tests.support import fake_camera_browser, open_camera
from tests.test_browser_capture_offline import close_face, log_in, person, watch_errors, y4m  # noqa: F401
from tests.test_browser_mobile import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FILMS = {
    "sharp": lambda face: face,
    "blurred": lambda face: face.filter(ImageFilter.GaussianBlur(8)),  # sharpness ~3 (the gate is 8)
    "dark": lambda face: ImageEnhance.Brightness(face).enhance(0.2),  # mean luma ~27 (the gate is 40)
}


@pytest.fixture
def camera(chromium, tmp_path, request):
    """A Chromium whose fake camera films the face ``request.param`` way."""
    video = y4m(FILMS[request.param](close_face((480, 600))), tmp_path / f"{request.param}.y4m")
    with fake_camera_browser(chromium, video) as context:
        yield context


#: The countdown these tests give the live view (the page's own is 3 s, static/js/capture.js): it reads its length
#: from data-countdown-seconds each time a countdown starts, so the tests wait less for it to run out.
SHORT_COUNTDOWN_S = 0.5
#: More than the short countdown, and time for the page to look at the face again (about every 0.3 s) and react.
LONGER_THAN_A_COUNTDOWN_MS = int(SHORT_COUNTDOWN_S * 1000) + 1500


def short_countdown(page):
    page.evaluate(f"document.getElementById('camera').dataset.countdownSeconds = '{SHORT_COUNTDOWN_S}'")


def captured(page):
    return page.evaluate("document.getElementById('upload-form').dataset.captured || null")


@pytest.mark.parametrize("camera", ["sharp"], indirect=True)
def test_a_good_face_is_taken_by_itself_after_a_countdown_that_can_be_cancelled(live_server, camera, person):  # noqa: F811
    page = camera.new_page()
    problems = watch_errors(page)
    base = live_server.url
    log_in(page, base)

    # First time: the countdown starts, the person cancels it; nothing is taken until the shutter is pressed.
    open_camera(page)
    page.wait_for_selector("#camera-countdown:not([hidden])", timeout=60_000)
    assert page.locator("#camera").get_attribute("data-check") == "ok"
    assert "taking the photo in" in page.locator("#camera-countdown-text").inner_text()
    assert axe_violations(page, base) == []  # the live view with its countdown
    page.click("#camera-cancel")
    assert page.locator("#camera-countdown").is_hidden()
    short_countdown(page)  # from here on, so any countdown that started again would end within the wait below
    page.wait_for_timeout(LONGER_THAN_A_COUNTDOWN_MS)
    assert captured(page) is None and page.locator("#camera").is_visible()
    assert "cancelled" in page.locator("#camera-hint").inner_text()
    page.click("#camera-shutter")
    page.wait_for_function("() => document.getElementById('upload-form').dataset.checked === 'ok'", timeout=60_000)
    assert captured(page) == "manual"

    # Again, left alone: the photo is taken by itself, and its checks pass.
    open_camera(page)
    page.wait_for_function("() => document.getElementById('upload-form').dataset.captured === 'auto'",
                           timeout=60_000)
    page.wait_for_function("() => document.getElementById('upload-form').dataset.checked === 'ok'", timeout=60_000)
    assert page.locator("#camera").is_hidden() and page.locator("#preview-img").is_visible()
    assert page.evaluate("document.getElementById('id_image').files[0].name") == "selfie.jpg"
    assert "Face found" in page.locator("#photo-checks").inner_text()

    # A side photo: the same camera and checks, its own preview.
    left = "button.side-camera[data-side='image_left']"
    assert page.locator(left).is_visible()
    open_camera(page, left)
    assert "left" in page.locator("#camera-target").inner_text().lower()
    page.wait_for_function("() => document.getElementById('preview-image_left').dataset.checked === 'ok'",
                           timeout=90_000)
    assert page.evaluate("document.getElementById('upload-form').elements.image_left.files[0].name") == "left.jpg"
    assert "Face found" in page.locator("#preview-image_left .photo-checks").inner_text()
    assert page.locator("#preview-image_right").is_hidden() and page.locator("#preview-img").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page, base) == []
    assert problems == []


@pytest.mark.parametrize(("camera", "problem", "tip"), [("blurred", "blurry", "Blurry"),
                                                       ("dark", "too_dark", "Too dark")], indirect=["camera"])
def test_a_blurred_or_dark_face_is_not_taken_and_the_tip_names_the_problem(live_server, camera, person, problem,  # noqa: F811
                                                                           tip):
    page = camera.new_page()
    problems = watch_errors(page)
    log_in(page, live_server.url)
    short_countdown(page)
    open_camera(page)
    page.wait_for_function(f"() => document.getElementById('camera').dataset.check === '{problem}'", timeout=60_000)
    assert page.locator("#camera").get_attribute("data-face") == "ok"  # the face is there; the photo is not good
    page.wait_for_timeout(LONGER_THAN_A_COUNTDOWN_MS)
    assert captured(page) is None and page.locator("#camera-countdown").is_hidden()
    assert tip in page.locator("#camera-hint").inner_text()
    assert problems == []
