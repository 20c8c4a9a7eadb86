"""A person signs up, uploads a photo, watches it being analysed and finds it in their history."""

import re

import pytest

from tests.support import face_like_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_sign_up_upload_see_result_and_history(live_server, live_worker, browser_page, tmp_path):
    page = browser_page
    photo = tmp_path / "me.jpg"
    photo.write_bytes(face_like_jpeg())

    page.goto(live_server.url + "/accounts/signup/")
    page.fill("#id_email", "carol@example.com")
    page.fill("#id_password1", "a-long-secret-42")
    page.fill("#id_password2", "a-long-secret-42")
    page.click("button[type=submit]")
    page.wait_for_url("**/signup/done/")
    # The link of the confirmation e-mail (sent by the worker; its wording is tested in accounts/tests).
    from django.contrib.auth import get_user_model

    from accounts.services import confirmation_link_path

    page.goto(live_server.url + confirmation_link_path(get_user_model().objects.get(email="carol@example.com")))
    page.fill("#id_password", "a-long-secret-42")
    page.click("#confirm-with-password button[type=submit]")
    page.wait_for_url("**/scans/new/")

    page.set_input_files("#id_image", str(photo))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/scans/[0-9a-f-]{36}/$"))  # the page's script sends it, then moves on
    assert page.locator(".progress").is_visible()

    # The page follows the scan without a manual reload, then shows the result.
    page.wait_for_selector("#result-label", timeout=120_000)
    if page.locator("#no-class-reason").count():  # "Can't tell from this photo": no numbers, advice instead
        assert page.locator("meter").count() == 0 and page.locator(".retake").is_visible()
    else:
        assert page.locator(".probabilities tr").count() == 4  # one row per condition
    assert "not a diagnosis" in page.content()
    assert page.locator("text=tiny-vgg16-test").count() == 1
    page.screenshot(path=str(tmp_path / "result.png"), full_page=True)

    page.click("text=History")
    page.wait_for_url("**/scans/")
    assert page.locator("table.history.cards tbody tr").count() == 1
    assert page.locator("img.thumb").count() == 1
