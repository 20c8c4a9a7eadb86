"""What a new user tripped on, checked in the real browser (issue 23, points 1, 2, 6 and 7): the Spanish
meters' values, the chart in the page's language and time zone, the compare slider, every form at 360 px,
menus on one line, table headers in whole words."""

import re

import pytest

from diagnosis.models import Scan
from tests.support import page_settled
from tests.test_browser_mobile import PASSWORD, log_in, page_width, person  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def in_spanish(page, base):
    page.select_option("#language-select", "es")
    page.click(".language-menu button")
    page.wait_for_load_state()


def test_spanish_meters_show_their_values(live_server, browser_page, person):  # noqa: F811
    _, scans = person
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url)
    in_spanish(page, live_server.url)
    page.goto(f"{live_server.url}/scans/{scans['first'].id}/")
    assert page.locator("#result-label").inner_text() == "Probablemente acné"
    values = page.eval_on_selector_all("meter", "ms => ms.map(m => m.value)")
    assert values == pytest.approx([0.82, 0.07, 0.06, 0.05])  # 0 for every bar when the value read "0,82"
    # The drawn bar is as long as the value says (not an empty track).
    widths = page.eval_on_selector_all("meter", "ms => ms.map(m => m.getBoundingClientRect().width)")
    assert all(w > 0 for w in widths)
    # and the figures beside them as Spanish writes a percentage: "82 %", a no-break space before the sign
    assert page.locator("table.probabilities td.num").first.inner_text() == "82\u00a0%"
    page.goto(f"{live_server.url}/review/scans/{scans['to_review'].id}/")
    assert page.eval_on_selector_all("meter", "ms => ms.map(m => m.value)") == pytest.approx([0.45, 0.3, 0.2, 0.05])


def test_the_chart_speaks_the_pages_language_and_time_zone(live_server, browser_page, person):  # noqa: F811
    user, scans = person
    from reminders import services as reminder_services

    reminder_services.set_preference(user, frequency="off", time_zone="Pacific/Auckland")
    page = browser_page
    log_in(page, live_server.url)
    in_spanish(page, live_server.url)
    page.goto(live_server.url + "/scans/")
    page.wait_for_selector("#history-chart[data-drawn='3']", state="attached")
    page.click("#chart-table summary")
    first = page.locator("#chart-table-body tr th").first.inner_text()
    listed = page.locator(f"td.when a[href='/scans/{scans['first'].id}/']").inner_text()
    assert first == listed  # the chart's table and the list write the same time
    assert re.fullmatch(r"\d{1,2} [a-z]{3} \d{4}, \d\d:\d\d", first), first  # "4 dic 2026, 00:26": Spanish
    assert "AM" not in first and "PM" not in first
    local = Scan.objects.get(id=scans["first"].id).created_at.astimezone(__import__("zoneinfo").ZoneInfo(
        "Pacific/Auckland"))
    assert first.endswith(local.strftime("%H:%M"))  # the profile's time zone, not the browser's
    cells = page.locator("#chart-table-body tr").first.locator("td").all_inner_texts()
    assert cells and all(re.fullmatch(r"\d{1,3}\u00a0%", c) for c in cells), cells  # "82 %" (Intl, in Spanish)


def test_compare_slider_moves_between_before_and_after(live_server, browser_page, person):  # noqa: F811
    _, scans = person
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/scans/compare/?scan={scans['latest'].id}&scan={scans['first'].id}")
    assert "went down from 82% to 22%" in page.locator("#change-summary").inner_text()
    slider = page.locator("#compare-slider")
    assert slider.is_visible()
    split = "getComputedStyle(document.getElementById('compare-slider')).getPropertyValue('--split').trim()"
    assert page.evaluate(split) == "50%"
    page.focus("#slider-range")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert page.evaluate(split) == "40%"
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.3)  # a tap on the photo
    assert page.evaluate(split) == "80%"
    assert page_width(page) <= 360
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    # Desktop: the photos take the room, beside the numbers.
    assert page.locator("#compare-slider").bounding_box()["width"] >= 500
    assert page.locator("#compare-table").bounding_box()["x"] > page.locator("#compare-slider").bounding_box()["x"]


FORM_PAGES = {
    "upload": "/scans/new/", "history-filters-and-report": "/scans/", "account": "/accounts/profile/",
    "delete-account": "/accounts/delete/", "password-change": "/accounts/password/change/",
    "review-queue": "/review/", "dashboard": "/review/dashboard/", "report": "/scans/report.pdf?date_from=x",
}
PUBLIC_FORM_PAGES = {"login": "/login/", "signup": "/accounts/signup/", "password-reset": "/accounts/password/reset/"}

OVERLAPS = """() => {
  const controls = Array.from(document.querySelectorAll('main input:not([type=hidden]), main select, main textarea,'
    + ' main button, main label, footer select, footer button'))
    .filter(e => e.offsetParent !== null && !e.closest('.visually-hidden') && !e.classList.contains('visually-hidden'));
  const boxes = controls.map(e => [e, e.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a) || (a.tagName === 'LABEL' && a.htmlFor === b.id)
          || (b.tagName === 'LABEL' && b.htmlFor === a.id)) { continue; }
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 0.5 && h > 0.5) {
        out.push(`${a.tagName}#${a.id || a.name} / ${b.tagName}#${b.id || b.name}: ${Math.round(w)}x${Math.round(h)}`);
      }
    }
  }
  const wide = controls.filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
    .map(e => `${e.tagName}#${e.id || e.name} sticks out`);
  return out.concat(wide);
}"""


def test_every_form_fits_360px_with_nothing_overlapping(live_server, browser_page, person):  # noqa: F811
    """The report's From/To boxes overlapped by 6 px at 390 px; every form, in both languages."""
    _, scans = person
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    base = live_server.url
    found = {}
    for name, path in PUBLIC_FORM_PAGES.items():
        page.goto(base + path)
        found[name] = page.evaluate(OVERLAPS)
    log_in(page, base)
    pages = {**FORM_PAGES, "scan-note": f"/scans/{scans['first'].id}/",
             "review-scan": f"/review/scans/{scans['to_review'].id}/",
             "delete-scan": f"/scans/{scans['middle'].id}/delete/"}
    for language in ("en", "es"):
        if language == "es":
            in_spanish(page, base)
        for name, path in pages.items():
            page.goto(base + path)
            page_settled(page)
            found[f"{name}-{language}"] = page.evaluate(OVERLAPS)
            assert page_width(page) <= 360, (name, language, page_width(page))
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_menus_stay_on_one_line_and_open_at_390px(live_server, browser_page, person):  # noqa: F811
    """The Spanish and the reviewer's menus wrapped to two lines at 390 px."""
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url)  # a reviewer: the longest menu
    for language in ("en", "es"):
        if language == "es":
            in_spanish(page, live_server.url)
        page.goto(live_server.url + "/scans/")
        bar = page.locator(".topbar").bounding_box()
        assert bar["height"] <= 60, (language, bar)
        assert page.locator("#main-nav").is_hidden()
        page.click("#menu-toggle")
        assert page.locator("#menu-toggle").get_attribute("aria-expanded") == "true"
        links = page.locator("#main-nav a, #main-nav button").all()
        assert len(links) == 5  # new scan, history, review queue, account, log out
        for link in links:
            box = link.bounding_box()
            assert box["height"] >= 44 and box["x"] + box["width"] <= 390
        page.keyboard.press("Escape")
        assert page.locator("#main-nav").is_hidden()
    # Desktop: the links are in the bar, on one line, no "Menu" button.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/scans/")
    assert page.locator("#menu-toggle").is_hidden()
    tops = {round(link.bounding_box()["y"]) for link in page.locator("#main-nav a").all()}
    assert len(tops) == 1


def test_desktop_table_headers_keep_whole_words(live_server, browser_page, person):  # noqa: F811
    """Next to long notes the headers broke mid-word ("Compar/e")."""
    _, scans = person
    Scan.objects.filter(id=scans["first"].id).update(note="Started the new cleanser on Monday and stopped the "
                                                     "old moisturiser; less redness on the cheeks since Thursday. " * 2)
    page = browser_page
    log_in(page, live_server.url)
    headers = ("ths => ths.map(th => { const r = document.createRange(); r.selectNodeContents(th);"
               " return [th.textContent, r.getClientRects().length]; }).filter(([t, lines]) => lines > 1)")
    for language in ("en", "es"):
        if language == "es":
            in_spanish(page, live_server.url)
        for width in (1280, 700):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + "/scans/")
            assert page.eval_on_selector_all("table.history.cards thead th", headers) == [], (language, width)


def test_the_chart_spaces_scans_by_their_time_and_the_picker_narrows_the_tooltip(live_server, browser_page,
                                                                                   person):  # noqa: F811
    """Issue 32, point 4: every scan had the same width, so 26 days looked like one minute; and with the picker
    on Acne the tooltip still listed all four conditions."""
    from tests.test_browser_mobile import make_scan

    user, _scans = person
    make_scan(user, 27, "acne", {"acne": 0.75, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.05}, seed=9)
    page = browser_page
    log_in(page, live_server.url)
    page.goto(live_server.url + "/scans/")
    page.wait_for_selector("#history-chart[data-drawn='4']", state="attached")
    xs = page.evaluate("Chart.getChart(document.getElementById('history-chart')).getDatasetMeta(0).data"
                       ".map(p => p.x)")  # scans 28, 27, 14 and 1 days ago
    assert xs == sorted(xs)
    one_day, thirteen_days = xs[1] - xs[0], xs[2] - xs[1]
    assert 0.04 < one_day / thirteen_days < 0.12, xs  # 1/13: proportional to time, not one slot per scan
    page.select_option("#chart-condition", "acne")
    chart = "Chart.getChart(document.getElementById('history-chart'))"
    point = page.evaluate(f"(() => {{ const p = {chart}.getDatasetMeta(0).data[2]; return [p.x, p.y]; }})()")
    box = page.locator("#history-chart").bounding_box()
    page.mouse.move(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_function(f"() => {chart}.tooltip.opacity > 0")
    assert page.evaluate(f"{chart}.tooltip.dataPoints.map(d => d.dataset.key)") == ["acne"]


@pytest.mark.parametrize(("language", "region", "typed", "saved"), [
    ("en-gb", "Indian Ocean", "Kolkata", "Profile saved."),
    ("es", "Océano Índico", "Calcuta", "Perfil guardado."),  # found by its name in Spanish
])
def test_one_time_zone_on_the_profile_found_by_typing_its_city(live_server, chromium, django_user_model,
                                                               language, region, typed, saved):
    """Issue 32, point 7: the time zone is one setting, on the profile (no longer in the Reminders form); the
    list is grouped by region and a zone is found by typing its city, in the page's language."""
    from tests.support import browser_log_in

    user = django_user_model.objects.create_user(email="lucia@example.com", password=PASSWORD, language=language)
    with chromium.using() as browser:
        context = browser.new_context(viewport={"width": 360, "height": 740}, timezone_id="Pacific/Auckland")
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            browser_log_in(page, live_server.url, "lucia@example.com", PASSWORD)
            page.goto(live_server.url + "/accounts/profile/")
            zone = page.locator("#profile-form select#id_time_zone")
            assert zone.input_value() == "Pacific/Auckland"  # nothing chosen yet: the device's, preselected
            assert page.locator("#reminder-form select").count() == 1  # how often, and nothing else
            groups = page.eval_on_selector_all("#id_time_zone optgroup", "gs => gs.map(g => g.label)")
            assert region in groups and len(groups) >= 8
            zone.focus()
            page.keyboard.type(typed)  # the select's own type-ahead, on the names shown
            assert zone.input_value() == "Asia/Kolkata"
            with page.expect_navigation():
                page.click("#profile-form button[type=submit]")
            assert page.locator("ul.messages").inner_text() == saved  # never "Reminders switched off"
            assert zone.input_value() == "Asia/Kolkata"
            assert page_width(page) <= 360  # the zones' long names do not widen the phone's page
        finally:
            context.close()
    user.refresh_from_db()
    assert user.time_zone == "Asia/Kolkata"
