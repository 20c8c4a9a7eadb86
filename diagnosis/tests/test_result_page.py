"""The result, history and compare pages as a person reads them: plain words, no numbers without a class."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db


def detail(client, scan):
    response = client.get(reverse("diagnosis:scan-detail", args=[scan.id]))
    assert response.status_code == 200
    return response.content.decode()


def with_heatmap(**fields):
    return ScanFactory(heatmap=ContentFile(face_like_jpeg((64, 64)), name="h.jpg"), **fields)


@pytest.mark.parametrize(("label", "verdict"), [
    ("acne", "Likely acne"), ("eczema", "Likely eczema"), ("rosacea", "Likely rosacea"),
    ("healthy", "Looks healthy"), ("uncertain", "Can&#x27;t tell from this photo"),
    ("no_skin", "No skin found in this photo"),
])
def test_verdict_in_plain_words_comes_first(user_client, user, label, verdict):
    html = detail(user_client, ScanFactory(owner=user, label=label))
    assert re.search(r'<h2 class="verdict" id="result-label">\s*' + re.escape(verdict), html)
    # On a phone the verdict comes before the photo: it is first in the page's order.
    assert html.index('id="result-label"') < html.index('id="scan-photo"')


def test_a_class_comes_with_its_sourced_explanation_and_when_to_see_a_doctor(user_client, user):
    html = detail(user_client, with_heatmap(owner=user, label="rosacea",
                                            probabilities={"acne": 0.1, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.7}))
    assert "When to see a doctor" in html
    assert 'href="https://www.nhs.uk/conditions/rosacea/"' in html
    assert html.count("<meter") == 4 and "70%" in html
    assert 'id="scan-heatmap"' in html and 'id="heatmap-toggle"' in html and 'class="legend"' in html


def test_the_heatmap_lies_on_the_photo_where_the_face_crop_was(user_client, user):
    html = detail(user_client, with_heatmap(owner=user, label="acne", heatmap_box=[0.1, 0.2, 0.6, 0.7]))
    heatmap = re.search(r'<img id="scan-heatmap"[^>]*>', html).group(0)
    assert 'class="heatmap-overlay"' in heatmap and 'data-overlay="1"' in heatmap
    assert 'style="left:10.00%;top:20.00%;width:50.00%;height:50.00%"' in heatmap
    # the photo and the heatmap share one positioned box, so the overlay scales with the photo
    assert re.search(r'<div class="photo-stack">\s*<img id="scan-photo"', html)


@pytest.mark.parametrize("box", [[], [0.5, 0.5, 0.2, 0.9], ["x", 0, 1, 1]])
def test_without_a_usable_box_the_heatmap_replaces_the_photo_instead(user_client, user, box):
    heatmap = re.search(r'<img id="scan-heatmap"[^>]*>',
                        detail(user_client, with_heatmap(owner=user, label="acne", heatmap_box=box))).group(0)
    assert "style=" not in heatmap and "data-overlay" not in heatmap


@pytest.mark.parametrize("label", ["uncertain", "no_skin"])
def test_no_class_shows_no_percentages_or_heatmap_but_why_and_how_to_retake(user_client, user, label):
    scan = with_heatmap(owner=user, label=label,
                        probabilities={"acne": 0.3, "eczema": 0.3, "healthy": 0.2, "rosacea": 0.2})
    html = detail(user_client, scan)
    assert "<meter" not in html and "30%" not in html and "class=\"probabilities\"" not in html
    assert "scan-heatmap" not in html and "/heatmap.jpg" not in html
    assert 'id="no-class-reason"' in html
    # Advice that fits: "no skin found" asks for a face in the picture, "can't tell" for light and focus.
    advice = ("Point the camera at your face", "fills the outline", "Face a window") if label == "no_skin" else (
        "Face a window", "Fill the frame", "colour photo")
    for words in advice:
        assert words in html
    assert reverse("diagnosis:upload") in html


def test_no_skin_and_uncertain_say_different_reasons(user_client, user):
    no_skin = detail(user_client, ScanFactory(owner=user, label="no_skin", quality={}))
    uncertain = detail(user_client, ScanFactory(owner=user, label="uncertain", quality={}))
    assert "No face or skin could be found" in no_skin
    assert "does not show one condition clearly enough" in uncertain


def test_grayscale_flag_says_a_colour_photo_is_needed(user_client, user):
    html = detail(user_client, ScanFactory(owner=user, label="uncertain", quality={"no_colour": True, "blurry": False}))
    reason = re.search(r'id="no-class-reason">([^<]*)<', html).group(1)
    assert "A colour photo is needed" in reason


def test_unknown_quality_flags_are_shown_in_generic_words(user_client, user):
    html = detail(user_client, ScanFactory(owner=user, label="acne", quality={"odd_angle": True, "blurry": True}))
    assert "The photo was flagged: odd angle." in html
    assert "blurry" in html


def test_the_disclaimer_appears_once_per_page(user_client, user):
    scan = ScanFactory(owner=user)
    for url in (reverse("diagnosis:upload"), reverse("diagnosis:history"),
                reverse("diagnosis:scan-detail", args=[scan.id]), reverse("profile")):
        html = user_client.get(url).content.decode()
        assert html.count("not a diagnosis") == 1, url
    user_client.logout()
    assert user_client.get(reverse("home")).content.decode().count("not a diagnosis") == 1


def test_nav_marks_the_current_page(user_client):
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert re.search(r'href="/scans/"\s+aria-current="page"', html)
    assert html.count('aria-current="page"') == 1


def test_upload_offers_camera_and_gallery_with_a_described_input(user_client):
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    main_input = re.search(r'<input type="file" name="image"[^>]*>', html).group(0)
    assert "capture" not in main_input  # the gallery stays available on phones
    described_by = re.search(r'aria-describedby="([^"]+)"', main_input).group(1)
    assert f'id="{described_by}"' in html
    assert 'capture="user"' in html and 'id="take-photo"' in html and 'id="preview"' in html


def scan_at(user, days_ago, label, probabilities=None, **fields):
    scan = ScanFactory(owner=user, label=label, probabilities=probabilities or {"acne": 0.6, "eczema": 0.2,
                                                                                "healthy": 0.1, "rosacea": 0.1},
                       **fields)
    Scan.objects.filter(id=scan.id).update(created_at=timezone.now() - timedelta(days=days_ago))
    scan.refresh_from_db()
    return scan


def test_chart_has_only_scans_with_a_class_and_follows_the_label_filter(user_client, user):
    acne = scan_at(user, 3, "acne")
    healthy = scan_at(user, 2, "healthy")
    scan_at(user, 1, "no_skin")
    scan_at(user, 1, "uncertain")
    data = user_client.get(reverse("diagnosis:chart-data")).json()
    assert [p["scan_id"] for p in data["points"]] == [str(acne.id), str(healthy.id)]
    only = user_client.get(reverse("diagnosis:chart-data"), {"label": "healthy"}).json()
    assert [p["scan_id"] for p in only["points"]] == [str(healthy.id)]
    page = user_client.get(reverse("diagnosis:history"), {"label": "healthy"}).content.decode()
    assert "label=healthy" in re.search(r'data-url="([^"]+)"', page).group(1)


def test_chart_has_a_table_alternative_fed_by_the_same_data(user_client, user):
    """The page holds the table; the browser fills it from the chart's own data (see the browser test)."""
    scan = scan_at(user, 2, "acne")
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    table = html[html.index('id="chart-table"'):html.index("</details>")]
    assert 'id="chart-table-body"' in table and "Match for each condition per scan" in table
    data = user_client.get(reverse("diagnosis:chart-data")).json()
    assert data["points"][0]["scan_id"] == str(scan.id) and data["points"][0]["probabilities"]["acne"] == 0.6


def test_empty_history_explains_how_to_start_instead_of_an_empty_chart(user_client, user):
    scan_at(user, 1, "no_skin")  # no class: nothing to draw
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert 'id="chart-empty"' in html and "history-chart" not in html.split("</main>")[0].split("chart-empty")[0]
    assert "Your chart starts with your first scan" in html


def test_history_thumbnails_have_unique_alt_texts(user_client, user):
    scan_at(user, 1, "acne")
    scan_at(user, 2, "acne")
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    alts = re.findall(r'class="thumb"[^>]*alt="([^"]+)"', html)
    assert len(alts) == 2 and len(set(alts)) == 2


def test_compare_puts_the_older_scan_first_and_shows_the_change(user_client, user):
    before = scan_at(user, 10, "acne", {"acne": 0.8, "eczema": 0.1, "healthy": 0.05, "rosacea": 0.05},
                     heatmap=ContentFile(face_like_jpeg((64, 64)), name="h.jpg"))
    after = scan_at(user, 1, "healthy", {"acne": 0.3, "eczema": 0.05, "healthy": 0.6, "rosacea": 0.05},
                    heatmap=ContentFile(face_like_jpeg((64, 64)), name="h.jpg"))
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [after.id, before.id]}).content.decode()
    assert html.index("Before") < html.index("After")
    assert html.index(f"/media/scans/{before.id}/image.jpg") < html.index(f"/media/scans/{after.id}/image.jpg")
    assert html.count("/heatmap.jpg") == 2
    assert "9 days apart" in html
    row = re.search(r"<th scope=\"row\">Acne</th>(.*?)</tr>", html).group(1)
    assert "80%" in row and "30%" in row and "−50 points" in row
    assert "+55 points" in html  # healthy went from 5% to 60%
    assert before.created_at.strftime("%H:%M") in html and after.created_at.strftime("%H:%M") in html


def test_compare_without_a_class_shows_no_change(user_client, user):
    a, b = scan_at(user, 3, "acne"), scan_at(user, 1, "uncertain")
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [a.id, b.id]}).content.decode()
    assert 'id="not-comparable"' in html and "points" not in html


def test_compare_the_same_scan_twice_is_refused(user_client, user):
    a = scan_at(user, 3, "acne")
    assert user_client.get(reverse("diagnosis:compare"), {"scan": [a.id, a.id]}).status_code == 302


def test_a_reason_given_by_the_model_wins_over_the_generic_one(user_client, user):
    """The model's reason code (Scan.reason) is worded; its own flag is not repeated; other flags still show."""
    scan = ScanFactory(owner=user, label="uncertain", reason="no_colour", quality={"no_colour": True, "blurry": True})
    html = detail(user_client, scan)
    reason = re.search(r'id="no-class-reason">([^<]*)<', html).group(1)
    assert reason.startswith("A colour photo is needed")
    assert "black and white. A colour photo is needed to judge" not in html  # the no_colour flag, not repeated
    assert "The photo looks blurry" in html
    low = detail(user_client, ScanFactory(owner=user, label="uncertain", reason="low_confidence", quality={}))
    assert "No condition is clearly ahead of the others" in low


def test_an_unknown_reason_code_falls_back_to_generic_words(user):
    from diagnosis import results

    scan = ScanFactory(owner=user, label="no_skin", reason="brand_new_code", quality={})
    assert results.result_view(scan).reason == "No face or skin could be found in this photo."


def test_deleting_the_account_removes_its_reminders(user_client, user):
    from reminders import services as reminder_services
    from reminders.models import ReminderPreference

    reminder_services.set_preference(user, frequency="weekly", time_zone="UTC")
    user_client.post(reverse("account-delete"), {"password": "correct horse battery"})
    assert not ReminderPreference.objects.exists()
