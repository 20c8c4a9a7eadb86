"""A reviewer corrects the acne grade of a scan's lesion readout: shown with what the model counted, stored
beside it (the correction), audited, and exported with the labels as lesion_grades.csv."""

import csv
import re

import pytest
from django.urls import reverse

from accounts.services import update_profile
from diagnosis.tests.factories import acne_scan, analysed, make_scan, prediction
from review import services
from review.models import AuditEvent, Review

pytestmark = pytest.mark.django_db


def _url(scan):
    return reverse("review:review-scan", kwargs={"scan_id": scan.id})


def test_the_review_page_shows_what_the_model_counted_and_offers_its_grade(reviewer_client, user):
    scan = acne_scan(user, 14)
    html = reviewer_client.get(_url(scan)).content.decode()
    assert "Spots counted by the model: About 14 spots: moderate acne" in html
    assert html.count('class="lesion-box"') == 14  # drawn on the photo, shown at once
    assert 'id="lesion-grade-field"' in html
    assert re.search(r'<option value="1" selected>moderate</option>', html)  # the model's grade preselected


def test_no_grade_field_for_a_scan_without_findings(reviewer_client, user):
    scan = analysed(make_scan(user), prediction("acne", None))
    html = reviewer_client.get(_url(scan)).content.decode()
    assert 'id="lesion-grade-field"' not in html and "review-lesions" not in html


def test_a_reviewer_corrects_the_grade_and_it_is_stored_beside_the_models(reviewer_client, reviewer, user):
    scan = acne_scan(user, 14)
    response = reviewer_client.post(_url(scan), {"label": "acne", "lesion_grade": "2", "comment": ""})
    assert response.status_code == 302
    review = Review.objects.get(scan=scan)
    assert (review.lesion_grade, review.model_lesion_grade, review.model_lesion_count) == (2, 1, 14)
    assert review.lesion_grade_corrected
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVIEW_CREATED, scan_id=scan.id)
    assert event.detail["lesion_grade"] == 2 and event.detail["model_lesion_grade"] == 1

    reviewer_client.post(_url(scan), {"label": "acne", "lesion_grade": "1"})  # changed their mind
    review.refresh_from_db()
    assert review.lesion_grade == 1 and not review.lesion_grade_corrected
    updated = AuditEvent.objects.get(action=AuditEvent.Action.REVIEW_UPDATED, scan_id=scan.id)
    assert updated.detail["previous_lesion_grade"] == 2


def test_confirming_the_label_keeps_the_grade_chosen(reviewer_client, user):
    scan = acne_scan(user, 60)
    reviewer_client.post(_url(scan), {"action": "confirm", "lesion_grade": "3"})
    review = Review.objects.get(scan=scan)
    assert (review.label, review.lesion_grade, review.model_lesion_grade) == ("acne", 3, 3)


def test_a_grade_is_kept_only_with_the_label_acne(reviewer, user):
    scan = acne_scan(user, 14)
    review, _ = services.save_review(scan=scan, reviewer=reviewer, label="rosacea", lesion_grade=2)
    assert review.lesion_grade is None and review.model_lesion_count == 14


def test_an_unknown_grade_is_refused(reviewer_client, reviewer, user):
    scan = acne_scan(user, 14)
    response = reviewer_client.post(_url(scan), {"label": "acne", "lesion_grade": "7"})
    assert response.status_code == 400 and not Review.objects.exists()
    with pytest.raises(services.ReviewNotAllowed):
        services.save_review(scan=scan, reviewer=reviewer, label="acne", lesion_grade=4)


def test_grade_corrections_are_exported_beside_the_labels(tmp_path, reviewer, user, other_user):
    update_profile(user, consent_training=True)
    corrected, confirmed, ungraded = acne_scan(user, 14), acne_scan(user, 3), acne_scan(user, 8)
    withheld = acne_scan(other_user, 30)  # no consent: neither its label nor its grade leaves
    services.save_review(scan=corrected, reviewer=reviewer, label="acne", lesion_grade=2)
    services.save_review(scan=confirmed, reviewer=reviewer, label="acne", lesion_grade=0)
    services.save_review(scan=ungraded, reviewer=reviewer, label="acne")
    services.save_review(scan=withheld, reviewer=reviewer, label="acne", lesion_grade=2)

    result = services.export_reviewed(tmp_path / "export")
    assert result.written == 3 and result.lesion_grades == 2
    with open(tmp_path / "export" / "lesion_grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(tmp_path / "export" / "manifest.csv", newline="") as fh:
        manifest = {r["path"] for r in csv.DictReader(fh)}
    assert list(rows[0]) == ["path", "grade", "model_grade", "model_count", "source", "reviewed_at"]
    assert sorted((r["grade"], r["model_grade"], r["model_count"]) for r in rows) == [("0", "0", "3"),
                                                                                      ("2", "1", "14")]
    assert {r["path"] for r in rows} <= manifest  # the same photos, named as in the manifest
    assert all((tmp_path / "export" / r["path"]).is_file() for r in rows)


def test_the_owner_sees_the_clinicians_grade_when_it_corrects_the_models(client, reviewer, user):
    scan = acne_scan(user, 14)
    services.save_review(scan=scan, reviewer=reviewer, label="acne", lesion_grade=2)
    client.force_login(user)
    html = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "The clinician graded the acne as severe." in html
    services.save_review(scan=scan, reviewer=reviewer, label="acne", lesion_grade=1)  # agrees with the model
    html = client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert 'id="review-grade"' not in html
