"""A scan of three photos in the real browser at phone width: picked on the upload page, sent in one form,
and each photo's reading on the result and review pages, with no sideways scrolling and no axe findings."""

import pytest

from diagnosis.models import Scan
from diagnosis.tests.factories import make_multi_photo_scan
from tests.support import page_settled
from tests.test_browser_mobile import PASSWORD, axe_violations, drawn_face, log_in, page_width, widest_elements

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def maria(django_user_model):
    from review import services as review_services

    user = django_user_model.objects.create_user(email="maria@example.com", password=PASSWORD)
    group, _ = review_services.ensure_reviewer_group()
    user.groups.add(group)  # she may open the review page of her own scan
    return user


def test_three_photos_from_the_upload_page_to_the_result_at_360px(live_server, browser_page, maria, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    base = live_server.url
    log_in(page, base)
    files = {}
    for i, side in enumerate(("front", "left", "right")):
        files[side] = tmp_path / f"{side}.jpg"
        files[side].write_bytes(drawn_face(seed=i))
    assert page_width(page) <= 360, widest_elements(page, 360)
    page.set_input_files("#id_image", str(files["front"]))
    page.set_input_files("#id_image_left", str(files["left"]))
    page.set_input_files("#id_image_right", str(files["right"]))
    page.click("#upload-button")
    page.wait_for_url("**/scans/*-*/")
    scan = Scan.objects.get()
    assert sorted(scan.photos.values_list("view", flat=True)) == ["front", "left", "right"]
    assert page.locator("#photo-set .photo-set-item").count() == 3  # the photos show while they wait

    done = make_multi_photo_scan(maria, status=Scan.Status.DONE, label="acne", photo_labels=["acne", "no_skin", "acne"])
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, path in (("upload", "/scans/new/"), ("result", f"/scans/{done.id}/"),
                           ("review", f"/review/scans/{done.id}/")):
            page.goto(base + path)
            page_settled(page)
            assert page_width(page) <= 360, (name, page_width(page), widest_elements(page, 360))
            found[f"{name}-{scheme}"] = axe_violations(page, base)
    assert {name: v for name, v in found.items() if v} == {}
    page.goto(f"{base}/scans/{done.id}/")
    items = page.locator("#photo-set .photo-set-item")
    assert items.count() == 3
    assert "Not counted" in items.nth(1).inner_text() and "70%" in items.nth(2).inner_text()
    assert page.locator("#photo-set img").first.evaluate("img => img.complete && img.naturalWidth > 0")
