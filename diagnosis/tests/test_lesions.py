"""The lesion readout in the product: stored by the worker's result mapping, shown on the result page, the
history, the compare view, the PDF report and the data export. Scans get their findings through the real
``store_result`` from a ``Prediction`` carrying real ``LesionFindings`` (the lesion model itself is ml/'s)."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from diagnosis import readouts
from diagnosis.models import Scan, ScanPhoto
from diagnosis.tests.factories import acne_scan, analysed, findings, make_multi_photo_scan, make_scan, prediction
from ml.core.lesions import LesionFindings

pytestmark = pytest.mark.django_db


# --- storage: the one result mapping ------------------------------------------------------------

def test_the_worker_mapping_stores_each_photos_lesions_on_its_own_row(user):
    scan = make_multi_photo_scan(user, views=("left", "right"))
    front, left = findings(14), findings(3)
    scan = analysed(scan, prediction("acne", front), prediction("acne", left), prediction("acne", None))

    assert LesionFindings.from_json(scan.first_photo.lesions) == front  # the front photo's, on the scan
    assert scan.first_photo.lesions == {"count": 14, "grade": 1, "boxes": [list(b[:4]) + [0.9] for b in front.boxes]}
    assert LesionFindings.from_json(ScanPhoto.objects.get(scan=scan, view="left").lesions) == left
    assert ScanPhoto.objects.get(scan=scan, view="right").lesions is None  # not judged: none, not zero


def test_a_model_without_a_lesion_head_stores_no_lesions(user):
    scan = analysed(make_scan(user), prediction("acne", None))
    assert scan.first_photo.lesions is None and scan.status == Scan.Status.DONE
    photo = scan.first_photo
    assert photo.heatmap and photo.heatmap_box == [0.1, 0.1, 0.9, 0.9]  # the other readout is stored as before


def test_the_registry_holds_both_readouts_and_maps_a_prediction_to_columns():
    assert list(readouts.READOUTS) == ["heatmap", "lesions"]
    fields = readouts.row_fields(prediction("acne", findings(2)), {"heatmap": "heatmaps/x.jpg",
                                                                   "heatmap_box": [0, 0, 1, 1]})
    assert fields["heatmap"] == "heatmaps/x.jpg" and fields["heatmap_box"] == [0, 0, 1, 1]
    assert fields["lesions"]["count"] == 2 and fields["lesions"]["grade"] == 0


def test_the_data_export_carries_the_lesions_of_each_photo(user_client, user):
    scan = analysed(make_multi_photo_scan(user, views=("left",)), prediction("acne", findings(7)),
                    prediction("acne", findings(2)))
    archive = zipfile.ZipFile(io.BytesIO(user_client.get(reverse("diagnosis:data-export")).content))
    exported = json.loads(archive.read("data.json"))["scans"][0]
    assert exported["id"] == str(scan.id)
    assert exported["lesions"]["count"] == 7 and exported["lesions"]["grade"] == 1
    assert exported["lesions"]["summary"] == "About 7 spots: moderate acne"
    assert [p["readouts"]["lesions"]["count"] for p in exported["photos"]] == [7, 2]


# --- the result page ------------------------------------------------------------------------------

def test_the_result_page_says_the_count_and_grade_in_plain_words_and_draws_the_boxes(user_client, user):
    scan = acne_scan(user, 14)
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "About 14 spots: moderate acne" in html
    assert "an estimate" in html and "not a diagnosis" in html  # a screening aid's wording
    assert "see a GP or a dermatologist" not in html  # only a very severe grade sends to a doctor
    # The boxes, in the stored photo's pixels: the SVG's viewBox is the photo, hidden until the toggle.
    assert f'viewBox="0 0 {scan.first_photo.image_width} {scan.first_photo.image_height}"' in html
    assert html.count('class="lesion-box"') == 14
    assert 'id="lesion-toggle"' in html and 'id="lesion-boxes"' in html
    first = findings(14).boxes[0]
    assert f'<rect class="lesion-box" x="{first[0]}" y="{first[1]}" width="{first[2] - first[0]}"' in html
    # the analysed crop, outlined on the same photo (its box from the worker's crop_box, as fractions)
    assert f'<rect class="lesion-crop" x="{0.1 * scan.first_photo.image_width}"' in html


def test_a_very_severe_grade_says_to_see_a_doctor(user_client, user):
    scan = acne_scan(user, 60)
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "About 60 spots: very severe acne" in html
    assert 'id="lesions-doctor"' in html and "see a GP or a dermatologist" in html


def test_no_lesion_words_without_findings_or_without_acne(user_client, user):
    plain = analysed(make_scan(user), prediction("acne", None))  # a model without a lesion head
    healthy = analysed(make_scan(user), prediction("healthy", findings(1)))
    for scan in (plain, healthy):
        html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
        assert 'id="lesions"' not in html and "lesion-toggle" not in html and "spots counted" not in html
        assert "About 1 spot" not in html


def test_each_side_photo_says_its_own_count(user_client, user):
    scan = analysed(make_multi_photo_scan(user, views=("left",)), prediction("acne", findings(9)),
                    prediction("acne", findings(4)))
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "About 9 spots: moderate acne" in html and "About 4 spots: mild acne" in html


def test_someone_elses_scan_shows_nothing_of_its_lesions(client, user, other_user):
    scan = acne_scan(user, 14)
    client.force_login(other_user)
    response = client.get(reverse("diagnosis:scan-detail", args=[scan.id]))
    assert response.status_code == 404 and b"spots" not in response.content


# --- history and compare --------------------------------------------------------------------------

def test_the_history_chart_data_carries_each_scans_spots_over_time(user_client, user, other_user):
    old = acne_scan(user, 14, days_ago=26)
    new = acne_scan(user, 6)
    analysed(make_scan(user), prediction("acne", None))  # no findings: not a point of the lesion chart
    acne_scan(other_user, 40)  # someone else's: never in this history

    data = user_client.get(reverse("diagnosis:chart-data")).json()
    points = data["lesions"]["points"]
    assert [(p["scan_id"], p["count"], p["grade"], p["grade_name"]) for p in points] == [
        (str(old.id), 14, 1, "moderate"), (str(new.id), 6, 1, "moderate")]
    assert all(p["when"] and p["day"] and p["created_at"] for p in points)  # written as the pages write dates
    assert len(data["points"]) == 3  # the confidence chart is as before
    filtered = user_client.get(reverse("diagnosis:chart-data"), {"date_from": new.created_at.date()}).json()
    assert [p["count"] for p in filtered["lesions"]["points"]] == [6]  # the page's filters apply


def test_the_history_page_has_the_lesion_chart_and_the_counts_in_the_list(user_client, user):
    acne_scan(user, 14, days_ago=26)
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert 'id="lesion-chart"' in html and 'id="lesion-table-body"' in html
    assert "About 14 spots: moderate acne" in html  # in the list of scans


def test_no_lesion_chart_without_findings(user_client, user):
    analysed(make_scan(user), prediction("acne", None))
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert 'id="history-chart"' in html and 'id="lesion-chart"' not in html


def test_the_compare_view_says_how_the_spots_changed(user_client, user):
    before, after = acne_scan(user, 14, days_ago=26), acne_scan(user, 6)
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [after.id, before.id]}).content.decode()
    assert "14 → 6 spots in 26 days" in html
    assert "About 14 spots: moderate acne" in html and "About 6 spots: moderate acne" in html


def test_the_compare_view_says_nothing_of_spots_when_one_scan_has_none(user_client, user):
    before = analysed(make_scan(user), prediction("acne", None))
    after = acne_scan(user, 6)
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [before.id, after.id]}).content.decode()
    assert 'id="lesion-change"' not in html and "About 6 spots: moderate acne" in html


# --- the PDF report ----------------------------------------------------------------------------------

def test_the_pdf_report_has_each_scans_spots_and_their_history(user_client, user):
    from pypdf import PdfReader

    acne_scan(user, 14, days_ago=26)
    acne_scan(user, 60)
    analysed(make_scan(user), prediction("acne", None))
    response = user_client.get(reverse("diagnosis:report"))
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Spots counted" in text  # the lesion chart's heading, over time
    assert "About 14 spots: moderate acne (an estimate by the model)" in text
    assert "About 60 spots: very severe acne" in text and "see a GP or a dermatologist" in text
    assert "14 (moderate)" in text and "60 (very severe)" in text  # the summary table's spots column


def test_the_lesion_chart_spaces_scans_by_time(user):
    from diagnosis import report

    scans = [acne_scan(user, 14, days_ago=30), acne_scan(user, 10, days_ago=28), acne_scan(user, 6)]
    fig = report.lesion_figure(report.report_scans(user, report.ReportPeriod(None, None)))
    xs = list(fig.axes[0].lines[0].get_xdata())
    assert xs[1] - xs[0] == pytest.approx(2, abs=0.01) and xs[2] - xs[1] == pytest.approx(28, abs=0.01)
    assert list(fig.axes[0].lines[0].get_ydata()) == [14, 10, 6]
    assert len(scans) == 3


def test_the_spots_read_in_spanish(user_client, user):
    scan = acne_scan(user, 60)
    user_client.post(reverse("set_language"), {"language": "es"})
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Unos 60 granos: acné muy grave" in html and "dermatólogo" in html and "Ver los granos contados" in html
