"""Every main page at phone width (360 px): no sideways scrolling, the verdict first, readable charts.

With FACEDIAG_SCREENSHOTS=<folder>, the same walk saves screenshots at 390x844 and 1280x900.
"""

import io
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from tests.support import browser_log_in, page_settled

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("FACEDIAG_SCREENSHOTS", "")
PASSWORD = "a-long-secret-42"


def drawn_face(spots=12, seed=0, size=480):
    """A drawn face (no real person), with red spots, so pages and screenshots look like the real thing."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (92, 110, 128))
    d = ImageDraw.Draw(img)
    d.ellipse([size * .2, size * .1, size * .8, size * .92], fill=(222, 178, 150))
    d.ellipse([size * .33, size * .38, size * .42, size * .43], fill=(60, 45, 40))
    d.ellipse([size * .58, size * .38, size * .67, size * .43], fill=(60, 45, 40))
    d.arc([size * .38, size * .6, size * .62, size * .75], 20, 160, fill=(150, 70, 70), width=6)
    for _ in range(spots):
        x, y = rng.uniform(.3, .7) * size, rng.uniform(.45, .8) * size
        r = rng.uniform(4, 8)
        d.ellipse([x - r, y - r, x + r, y + r], fill=(200, 90, 90))
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


HEATMAP_BOX = [0.15, 0.08, 0.85, 0.78]  # the face crop on the drawn photos, as fractions


def drawn_heatmap(photo):
    """The face crop of the photo with a jet-coloured blob over the lower face, the way the model's
    Grad-CAM overlay looks; it lies on the photo at HEATMAP_BOX."""
    import cv2

    rgb = np.array(Image.open(io.BytesIO(photo)).convert("RGB"))
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (int(round(f * side)) for f, side in zip(HEATMAP_BOX, (w, h, w, h), strict=True))
    rgb = rgb[y0:y1, x0:x1]
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    cam = np.exp(-(((xx - w * .5) / (w * .18)) ** 2 + ((yy - h * .65) / (h * .15)) ** 2))
    heat = cv2.applyColorMap(np.uint8(255 * cam), cv2.COLORMAP_JET)[..., ::-1]
    blend = (0.55 * rgb + 0.45 * heat).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(blend).save(out, "JPEG", quality=90)
    return out.getvalue()


def make_scan(owner, days_ago, label, probabilities, *, status=Scan.Status.DONE, quality=None, note="", seed=0,
              reason=""):
    photo = drawn_face(spots=12 if label == "acne" else 3, seed=seed)
    scan = ScanFactory(
        owner=owner, status=status, label=label if status == Scan.Status.DONE else "",
        probabilities=probabilities if status == Scan.Status.DONE else {},
        top_probability=max(probabilities.values()) if status == Scan.Status.DONE else None,
        quality=quality or {}, note=note, reason=reason,
        image=ContentFile(photo, name="p.jpg"), thumbnail=ContentFile(photo, name="t.jpg"),
        heatmap=ContentFile(drawn_heatmap(photo), name="h.jpg") if status == Scan.Status.DONE else "",
        heatmap_box=HEATMAP_BOX if status == Scan.Status.DONE else [],
        completed_at=timezone.now() if status == Scan.Status.DONE else None,
    )
    when = timezone.now() - timedelta(days=days_ago, hours=seed)
    Scan.objects.filter(id=scan.id).update(created_at=when)
    scan.created_at = when
    return scan


@pytest.fixture
def person(django_user_model):
    """A person with a few weeks of scans, who is also a reviewer (so the review pages can be opened)."""
    from review import services as review_services

    user = django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)
    group, _ = review_services.ensure_reviewer_group()
    user.groups.add(group)
    scans = {
        "first": make_scan(user, 28, "acne", {"acne": 0.82, "eczema": 0.06, "healthy": 0.07, "rosacea": 0.05},
                           note="Before the new cleanser", seed=1),
        "middle": make_scan(user, 14, "acne", {"acne": 0.61, "eczema": 0.05, "healthy": 0.3, "rosacea": 0.04},
                            quality={"blurry": True}, seed=2),
        "uncertain": make_scan(user, 7, "uncertain", {"acne": 0.4, "eczema": 0.1, "healthy": 0.38, "rosacea": 0.12},
                               quality={"too_dark": True}, reason="low_confidence", seed=3),
        "latest": make_scan(user, 1, "healthy", {"acne": 0.22, "eczema": 0.04, "healthy": 0.7, "rosacea": 0.04},
                            note="Six weeks on the cleanser", seed=4),
        "waiting": make_scan(user, 0, "", {"acne": 0}, status=Scan.Status.QUEUED, seed=5),
    }
    # Someone else's scans for the review pages: one reviewed by this person, two waiting in the queue.
    other = django_user_model.objects.create_user(email="sam@example.com", password=PASSWORD)
    reviewed = make_scan(other, 5, "rosacea", {"acne": 0.1, "eczema": 0.1, "healthy": 0.2, "rosacea": 0.6}, seed=6)
    review_services.save_review(scan=reviewed, reviewer=user, label="rosacea")
    scans["to_review"] = make_scan(other, 3, "eczema", {"acne": 0.2, "eczema": 0.45, "healthy": 0.3, "rosacea": 0.05},
                                   quality={"blurry": True}, seed=7)
    make_scan(other, 2, "acne", {"acne": 0.9, "eczema": 0.03, "healthy": 0.04, "rosacea": 0.03}, seed=8)
    return user, scans


def log_in(page, base):
    browser_log_in(page, base, "maria@example.com", PASSWORD)


def page_width(page):
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def widest_elements(page, limit):
    """For the failure message: elements that stick out of the viewport."""
    return page.evaluate("""(limit) => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > limit + 0.5)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
                         limit)


def main_pages(scans):
    s = scans
    return {
        "upload": "/scans/new/",
        "waiting": f"/scans/{s['waiting'].id}/",
        "result": f"/scans/{s['first'].id}/",
        "result-uncertain": f"/scans/{s['uncertain'].id}/",
        "history": "/scans/",
        "compare": f"/scans/compare/?scan={s['latest'].id}&scan={s['first'].id}",
        "account": "/accounts/profile/",
        "delete-account": "/accounts/delete/",
        "delete-scan": f"/scans/{s['middle'].id}/delete/",
        "password-change": "/accounts/password/change/",
        "review-queue": "/review/",
        "review-scan": f"/review/scans/{s['to_review'].id}/",
        "dashboard": "/review/dashboard/",
        "not-found": "/no/such/page/",
        "offline": "/offline/",
    }


PUBLIC_PAGES = {"landing": "/", "login": "/login/", "signup": "/accounts/signup/",
                "password-reset": "/accounts/password/reset/"}


def test_every_main_page_fits_a_360px_phone(live_server, browser_page, person):
    _, scans = person
    page = browser_page
    problems = []  # script errors and CSP refusals (inline scripts or styles the policy blocks)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{page.url}: {msg.text}"))
    page.set_viewport_size({"width": 360, "height": 740})
    base = live_server.url
    for name, path in PUBLIC_PAGES.items():
        page.goto(base + path)
        assert page_width(page) <= 360, (name, page_width(page), widest_elements(page, 360))
    log_in(page, base)
    for name, path in main_pages(scans).items():
        page.goto(base + path)
        page_settled(page)
        assert page_width(page) <= 360, (name, page_width(page), widest_elements(page, 360))

    # The result comes before the photo, inside the first screen.
    page.goto(f"{base}/scans/{scans['first'].id}/")
    verdict = page.locator("#result-label").bounding_box()
    photo = page.locator("#scan-photo").bounding_box()
    assert verdict["y"] < photo["y"] and verdict["y"] + verdict["height"] < 740
    assert page.locator("#result-label").inner_text() == "Likely acne"

    # History: rows become cards, the chart keeps a readable height.
    page.goto(base + "/scans/")
    page.wait_for_selector("#history-chart[data-drawn='3']", state="attached")
    assert page.locator("#history-chart").bounding_box()["height"] >= 250
    page.click("#chart-table summary")  # the table alternative: one row per charted scan, oldest first
    rows = page.locator("#chart-table-body tr")
    assert rows.count() == 3
    assert rows.first.locator("th a").get_attribute("href") == f"/scans/{scans['first'].id}/"
    assert rows.first.locator("td").first.inner_text() == "82%"
    first_row = page.locator("table.history.cards tbody tr").first.bounding_box()
    assert first_row["width"] <= 360 - 2 * 16 + 1

    # Touch targets: a tap anywhere in the checkbox's 44 px square ticks it; nav links are 44 px tall.
    target = page.locator("label.tap").first
    box = target.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    target.click(position={"x": 3, "y": 3})  # near the corner, outside the drawn box
    assert page.locator("input[name=scan]").first.is_checked()
    page.click("#menu-toggle")  # on a phone the links fold behind "Menu"
    for link in page.locator(".topbar nav a").all():
        assert link.bounding_box()["height"] >= 44
    # The 404 page logs its own status as a console error; anything else is a real problem.
    assert [p for p in problems if "404 (Not Found)" not in p] == []


def test_result_heatmap_toggle_and_uploading_preview(live_server, browser_page, person, tmp_path):
    _, scans = person
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/scans/{scans['first'].id}/")
    assert page.locator("#scan-heatmap").is_hidden() and page.locator("#heatmap-legend").is_hidden()
    page.click("#heatmap-toggle")
    assert page.locator("#scan-heatmap").is_visible() and page.locator("#heatmap-legend").is_visible()
    # The heatmap lies on the photo, over the very crop the model analysed.
    assert page.locator("#scan-photo").is_visible()
    photo, heat = page.locator("#scan-photo").bounding_box(), page.locator("#scan-heatmap").bounding_box()
    x0, y0, x1, y1 = HEATMAP_BOX
    assert heat["x"] == pytest.approx(photo["x"] + x0 * photo["width"], abs=1.5)
    assert heat["y"] == pytest.approx(photo["y"] + y0 * photo["height"], abs=1.5)
    assert heat["width"] == pytest.approx((x1 - x0) * photo["width"], abs=1.5)
    assert heat["height"] == pytest.approx((y1 - y0) * photo["height"], abs=1.5)
    assert page.locator("#heatmap-toggle").get_attribute("aria-pressed") == "true"
    page.click("#heatmap-toggle")
    assert page.locator("#scan-photo").is_visible() and page.locator("#scan-heatmap").is_hidden()

    page.goto(f"{live_server.url}/scans/{scans['uncertain'].id}/")
    assert page.locator("#result-label").inner_text() == "Can't tell from this photo"
    assert page.locator("meter").count() == 0 and page.locator("#heatmap-toggle").count() == 0

    dark = tmp_path / "dark.jpg"
    Image.new("RGB", (400, 400), (12, 10, 9)).save(dark, "JPEG")
    page.goto(live_server.url + "/scans/new/")
    assert page.locator("#take-photo").is_visible() and page.locator("#choose-photo").is_visible()
    assert page.locator("#camera-input").get_attribute("capture") == "user"
    assert page.locator("#id_image").get_attribute("capture") is None  # the gallery stays reachable
    # A selfie from the camera input lands in the form's own file input, with its preview and checks.
    page.set_input_files("#camera-input", str(dark))
    page.wait_for_selector("#photo-checks li")
    assert page.evaluate("document.getElementById('id_image').files[0].name") == "dark.jpg"
    assert page.locator("#preview-img").is_visible()
    assert "too dark" in page.locator("#photo-checks").inner_text()


def charts_still(page):
    """The page settled, and every chart on it done with its entry animation (Chart.js's animator)."""
    page_settled(page)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('canvas')).every(c => {
        const chart = window.Chart && Chart.getChart(c);
        return !chart || !Chart.animator.running(chart); })""")


def whole_page_shot(page, path):
    """A full-page screenshot with the window as tall as the page, so a bar stuck to the bottom of the
    screen (history's "Compare selected") is drawn where it rests, not over the list."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("document.documentElement.scrollHeight")})
    page.wait_for_timeout(300)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)


@pytest.mark.skipif(not SCREENSHOTS, reason="set FACEDIAG_SCREENSHOTS=<folder> to take screenshots")
def test_screenshots_of_the_main_pages(live_server, browser_page, person, tmp_path):
    _, scans = person
    out = Path(SCREENSHOTS)
    out.mkdir(parents=True, exist_ok=True)
    page = browser_page
    photo = tmp_path / "me.jpg"
    face = Path(__file__).resolve().parent.parent / "ml" / "samples" / "astronaut_face.jpg"
    Image.open(face).convert("RGB").crop((98, 4, 254, 199)).resize((480, 600)).save(photo, "JPEG", quality=92)
    cat = make_scan(scans["first"].owner, 2, "no_skin", {"acne": 0.3, "eczema": 0.2, "healthy": 0.3, "rosacea": 0.2},
                    reason="not_skin", quality={"no_face": True}, seed=10)
    pages = {**main_pages(scans), "result-no-skin": f"/scans/{cat.id}/"}
    for size_name, viewport in (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})):
        page.context.clear_cookies()
        page.set_viewport_size(viewport)
        page.goto(live_server.url + "/")
        page.screenshot(path=str(out / f"landing-{size_name}.png"), full_page=True)
        log_in(page, live_server.url)
        for name in ("waiting", "result", "result-uncertain", "history", "compare", "account", "review-queue",
                     "review-scan", "dashboard", "not-found"):
            page.goto(live_server.url + pages[name])
            page_settled(page)
            if name == "history":
                page.wait_for_selector("#history-chart[data-drawn='3']", state="attached")
                charts_still(page)
                whole_page_shot(page, str(out / f"{name}-{size_name}.png"))
                continue
            page.screenshot(path=str(out / f"{name}-{size_name}.png"), full_page=True)
        page.goto(live_server.url + pages["result"])
        page.click("#heatmap-toggle")
        page.locator("#photo-figure").screenshot(path=str(out / f"result-heatmap-{size_name}.png"))
        page.goto(live_server.url + "/scans/new/")
        page.screenshot(path=str(out / f"upload-guide-{size_name}.png"), full_page=True)
        page.set_input_files("#id_image", str(photo))
        page.wait_for_function("() => ['ok', 'warn'].includes(document.getElementById('upload-form').dataset.checked)",
                               timeout=60_000)
        page.screenshot(path=str(out / f"upload-{size_name}.png"), full_page=True)
        page.goto(live_server.url + pages["result-no-skin"])
        page.screenshot(path=str(out / f"result-no-skin-{size_name}.png"), full_page=True)
    # The dark theme and the Spanish pages, on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    for name in ("result", "history"):
        page.goto(live_server.url + pages[name])
        charts_still(page)
        whole_page_shot(page, str(out / f"{name}-phone-dark.png"))
    page.goto(live_server.url + pages["compare"])
    page.screenshot(path=str(out / "compare-phone-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    page.select_option("#language-select", "es")
    page.click(".language-menu button")
    for name in ("result", "history", "upload"):
        page.goto(live_server.url + pages[name])
        charts_still(page)
        whole_page_shot(page, str(out / f"{name}-phone-es.png"))
    page.click("#menu-toggle")
    page.screenshot(path=str(out / "menu-phone-es.png"))
    # A photo taken offline, waiting on the device.
    page.select_option("#language-select", "en-gb")
    page.click(".language-menu button")
    page.goto(live_server.url + "/scans/new/")
    page.context.set_offline(True)
    page.set_input_files("#id_image", str(photo))
    page.click("#upload-button")
    page.wait_for_selector("#pending-list li[data-state='waiting']")
    page.screenshot(path=str(out / "upload-waiting-phone.png"), full_page=True)
    page.context.set_offline(False)


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")) }));
}"""


def axe_violations(page, base):
    # Loaded from static/ like any page script, so the page's CSP (script-src 'self') allows it.
    page.add_script_tag(url=base + "/static/vendor/axe-core/axe.min.js")
    return page.evaluate(AXE_RUN)


@pytest.mark.parametrize(("viewport", "scheme"), [
    ({"width": 360, "height": 740}, "light"), ({"width": 1280, "height": 900}, "light"),
    ({"width": 360, "height": 740}, "dark"),
], ids=["phone", "desktop", "phone-dark"])
def test_axe_finds_no_serious_violations_on_the_main_pages(live_server, browser_page, person, viewport, scheme):
    _, scans = person
    page = browser_page
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)  # the dark theme follows prefers-color-scheme
    base = live_server.url
    found = {}
    for name, path in PUBLIC_PAGES.items():
        page.goto(base + path)
        found[name] = axe_violations(page, base)
    log_in(page, base)
    for name, path in main_pages(scans).items():
        page.goto(base + path)
        page_settled(page)
        found[name] = axe_violations(page, base)
    page.goto(base + "/scans/")
    page_settled(page)  # the table is filled from the chart's data
    page.click("#chart-table summary")  # the table alternative, opened
    found["history-table"] = axe_violations(page, base)
    assert {name: v for name, v in found.items() if v} == {}
