"""A reviewer logs in, reviews two scans from the queue, and the dashboard updates (headless Chromium)."""

import os
import shutil
from pathlib import Path

import pytest

from review import services
from review.models import AuditEvent, Review

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = os.environ.get("REVIEW_DASHBOARD_SCREENSHOT", "")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian chromium at /usr/bin/chromium"),
]


@pytest.fixture
def review_page(chromium):
    """A page of its own in the session's Chromium (conftest.chromium)."""
    with chromium.using() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()


def test_reviewer_reviews_two_scans_and_dashboard_updates(live_server, review_page, make_scan, model_version,
                                                          django_user_model):
    group, _ = services.ensure_reviewer_group()
    clinician = django_user_model.objects.create_user(email="clinician@example.com", password="a-long-secret-42")
    clinician.groups.add(group)
    first = make_scan(label="acne", top=0.41, model_version=model_version, quality={"blurry": True})
    second = make_scan(label="eczema", top=0.52, model_version=model_version)
    page = review_page

    page.goto(f"{live_server.url}/login/?next=/review/")
    page.fill("#id_username", "clinician@example.com")
    page.fill("#id_password", "a-long-secret-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/review/")
    assert page.locator("#queue-count strong").inner_text() == "2"
    assert page.get_by_role("link", name="Review queue").count() == 1  # nav link for reviewers

    page.goto(f"{live_server.url}/review/dashboard/")
    assert page.locator("#stat-total").inner_text() == "0"

    page.goto(f"{live_server.url}/review/")
    page.click("#start-reviewing")
    page.wait_for_url(f"**/review/scans/{first.id}/")  # most uncertain first
    page.wait_for_function("document.querySelector('.images img').naturalWidth > 0")
    assert "blurry" in page.locator("#quality-flags").inner_text()
    page.click("#confirm-button")  # confirm the model's "acne"

    page.wait_for_url(f"**/review/scans/{second.id}/")  # straight on to the next
    page.keyboard.press("4")  # the key shortcut picks the 4th label: rosacea
    assert page.locator("input[name=label][value=rosacea]").is_checked()
    page.fill("textarea[name=comment]", "telangiectasia on the cheeks")
    page.click("#save-button")
    page.wait_for_url("**/review/")
    assert "queue is clear" in page.content()

    page.click("text=Agreement dashboard")
    page.wait_for_url("**/review/dashboard/")
    assert page.locator("#stat-total").inner_text() == "2"
    assert page.locator("#stat-agreed").inner_text() == "1"
    assert page.locator("#stat-agreement").inner_text() == "50%"
    for img in ("#confusion-img", "#timeline-img"):
        page.wait_for_function(f"document.querySelector('{img}').complete && "
                               f"document.querySelector('{img}').naturalWidth > 0")
    if SCREENSHOT:
        Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)

    assert sorted(Review.objects.values_list("label", flat=True)) == ["acne", "rosacea"]
    assert AuditEvent.objects.filter(action="review.created", actor=clinician).count() == 2
    assert AuditEvent.objects.filter(action="image.viewed", actor=clinician).count() >= 4  # images + heatmaps


LOOP_SCREENSHOT = os.environ.get("LEARNING_LOOP_SCREENSHOT", "")


def test_the_learning_loop_on_the_dashboard(live_server, review_page, django_user_model):
    """Three versions measured on the same reviewed scans, and a drift check that found a change; with
    LEARNING_LOOP_SCREENSHOT=<file.png> the page is saved (the README's picture)."""
    import numpy as np
    from django.core.management import CommandError, call_command
    from django.utils import timezone

    from ml.tests.factories import ModelVersionFactory

    from .factories import add_scans, dark_filter_app, reviewed_scans, usual

    rng = np.random.default_rng(25)
    group, _ = services.ensure_reviewer_group()
    clinician = django_user_model.objects.create_user(email="clinician@example.com", password="a-long-secret-42")
    clinician.groups.add(group)
    owner = django_user_model.objects.create_user(email="owner@example.com", password="a-long-secret-42")
    now = timezone.now()
    past = ModelVersionFactory(name="vgg16-skin-v4", activated_at=now - timezone.timedelta(days=60))
    active = ModelVersionFactory(name="vgg16-skin-v5", active=True, activated_at=now - timezone.timedelta(days=40))
    shadow = ModelVersionFactory(name="vgg16-skin-v6", shadow=True)
    reviewed_scans(owner, clinician, {(active, "served"): 0.74, (shadow, "shadow"): 0.81, (past, "rescored"): 0.66},
                   420, rng)
    add_scans(owner, active, (7.1, 34.9), usual, 4 * 160, rng)
    add_scans(owner, active, (0.1, 6.9), dark_filter_app, 160, rng)
    with pytest.raises(CommandError, match="drift: a significant change"):  # it exits 1 on drift (issue 31)
        call_command("check_drift", stdout=open(os.devnull, "w"))
    page = review_page

    page.goto(f"{live_server.url}/login/?next=/review/dashboard/")
    page.fill("#id_username", "clinician@example.com")
    page.fill("#id_password", "a-long-secret-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/review/dashboard/")
    rows = page.locator("#versions-table tbody tr")
    assert [rows.nth(i).get_attribute("data-version") for i in range(3)] == [
        "vgg16-skin-v5", "vgg16-skin-v6", "vgg16-skin-v4"]
    assert rows.nth(1).locator("[data-role]").inner_text() == "shadow"
    assert "Significant change" in page.locator("#drift-status").inner_text()
    assert page.locator("#drift-table tr.drifted").count() >= 3
    for img in ("#versions-img", "#drift-img"):
        page.wait_for_function(f"document.querySelector('{img}').complete && "
                               f"document.querySelector('{img}').naturalWidth > 0")
    if LOOP_SCREENSHOT:
        Path(LOOP_SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
        page.locator("#versions").screenshot(path=LOOP_SCREENSHOT.replace(".png", "-versions.png"))
        page.locator("#drift").screenshot(path=LOOP_SCREENSHOT.replace(".png", "-drift.png"))
