"""The lesion readout in the real browser: the spots drawn on the very photo (boxes in its own pixels land
where they were found, whatever size the page shows it at) and the history's time-scaled lesion chart."""

import os

import pytest

from diagnosis.tests.factories import acne_scan
from tests.support import browser_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("FACEDIAG_SCREENSHOTS")  # a folder: save what the pages look like, for a person to see


def test_the_spots_toggle_on_the_photo_and_the_lesion_chart(live_server, browser_page, user):
    acne_scan(user, 14, days_ago=26)
    after = acne_scan(user, 6)
    page = browser_page
    browser_log_in(page, live_server.url, user.email, "correct horse battery")
    page.goto(f"{live_server.url}/scans/{after.id}/")
    assert page.locator("#lesions-summary").inner_text() == "About 6 spots: moderate acne"
    assert page.locator("#lesion-boxes").is_hidden()
    page.click("#lesion-toggle")
    assert page.locator("#lesion-boxes").is_visible()
    assert page.get_attribute("#lesion-toggle", "aria-pressed") == "true"
    photo = page.locator("#scan-photo").bounding_box()
    first = page.locator("#lesion-boxes .lesion-box").first.bounding_box()
    scale = photo["width"] / after.first_photo.image_width
    # findings(6): the first box at (10, 20), 12 px square, in the stored photo's pixels
    assert first["x"] == pytest.approx(photo["x"] + 10 * scale, abs=2.5)
    assert first["y"] == pytest.approx(photo["y"] + 20 * scale, abs=2.5)
    assert first["width"] == pytest.approx(12 * scale, abs=3)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "lesions-result.png"), full_page=True)
    page.click("#lesion-toggle")
    assert page.locator("#lesion-boxes").is_hidden()

    page.goto(f"{live_server.url}/scans/")
    page.wait_for_selector('#lesion-chart[data-drawn="2"]')
    assert page.locator("#lesion-table-body tr").count() == 2
    page.click("#lesion-table summary")  # the table alternative is folded under the chart
    cells = page.locator("#lesion-table-body tr").first.locator("td").all_inner_texts()
    assert cells == ["14", "moderate"]
    if SHOTS:
        page.locator("#lesion-history").screenshot(path=os.path.join(SHOTS, "lesions-history.png"))
