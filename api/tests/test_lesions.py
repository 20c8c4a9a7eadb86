"""`lesions` in the API: on a scan (its front photo's) and on each photo, in the history summary and the
review; documented in the schema; older clients' fields unchanged; nobody else's."""

import pytest
from django.urls import reverse

from diagnosis.tests.factories import acne_scan, analysed, findings, make_multi_photo_scan, make_scan, prediction
from review import services as review_services

from .conftest import _client_for

pytestmark = pytest.mark.django_db

#: What a scan's answer held before lesions: a client written then still finds every one of these.
FIELDS_BEFORE = {"id", "status", "created_at", "url", "disclaimer", "updated_at", "completed_at", "note", "label",
                 "probabilities", "quality", "quality_warnings", "model_version", "error", "can_retry",
                 "image_url", "thumbnail_url", "heatmap_url", "heatmap_box", "review", "reason", "reason_text",
                 "photos", "analysis"}
PHOTO_FIELDS_BEFORE = {"view", "image_url", "thumbnail_url", "heatmap_url", "heatmap_box", "label", "reason",
                       "reason_text", "probabilities", "quality", "quality_warnings", "counted"}


def detail(scan_id):
    return reverse("api:scan-detail", kwargs={"scan_id": scan_id})


def test_a_scan_and_each_photo_carry_their_lesions(auth_client, user):
    scan = analysed(make_multi_photo_scan(user, views=("left", "right")), prediction("acne", findings(14)),
                    prediction("acne", findings(4)), prediction("acne", None))
    body = auth_client.get(detail(scan.id)).json()
    # only added (and `summary`, the result in words, since issue 29; each photo's `readouts`, issue 34)
    assert set(body) == FIELDS_BEFORE | {"lesions", "summary"}
    assert all(set(photo) == PHOTO_FIELDS_BEFORE | {"lesions", "summary", "readouts"} for photo in body["photos"])
    assert body["lesions"] == {
        "count": 14, "grade": 1, "grade_name": "moderate", "summary": "About 14 spots: moderate acne",
        "boxes": [[b[0], b[1], b[2], b[3], 0.9] for b in findings(14).boxes],
    }
    front, left, right = body["photos"]
    assert front["lesions"] == body["lesions"]
    assert (left["lesions"]["count"], left["lesions"]["grade_name"]) == (4, "mild")
    assert right["lesions"] is None  # not judged by a lesion model: null, not zero


def test_lesions_are_null_before_the_result_and_without_a_lesion_readout(auth_client, user):
    queued = make_scan(user)
    plain = analysed(make_scan(user), prediction("acne", None))
    for scan in (queued, plain):
        body = auth_client.get(detail(scan.id)).json()
        assert body["lesions"] is None and body["photos"][0]["lesions"] is None


def test_a_very_severe_count_reads_so_and_a_healthy_face_gets_no_grade_words(auth_client, user):
    severe = acne_scan(user, 60)
    healthy = analysed(make_scan(user), prediction("healthy", findings(1)))
    assert auth_client.get(detail(severe.id)).json()["lesions"]["summary"] == "About 60 spots: very severe acne"
    assert auth_client.get(detail(healthy.id)).json()["lesions"]["summary"] == "About 1 spot counted"


def test_someone_elses_scan_and_history_stay_theirs(auth_client, user, other_user):
    theirs = acne_scan(other_user, 30)
    assert auth_client.get(detail(theirs.id)).status_code == 404
    mine = acne_scan(user, 14, days_ago=26)
    body = auth_client.get(reverse("api:history-summary")).json()
    assert [(p["scan_id"], p["count"], p["grade"]) for p in body["lesions"]] == [(str(mine.id), 14, 1)]
    assert _client_for(other_user).get(reverse("api:history-summary")).json()["lesions"][0]["count"] == 30


def test_the_history_summary_answers_am_i_improving_in_spots(auth_client, user):
    acne_scan(user, 14, days_ago=26)
    acne_scan(user, 6)
    body = auth_client.get(reverse("api:history-summary")).json()
    assert [p["count"] for p in body["lesions"]] == [14, 6]
    assert {"classes", "points", "series", "disclaimer"} <= set(body)  # as before


def test_the_review_carries_the_reviewers_grade(auth_client, user, django_user_model):
    reviewer = django_user_model.objects.create_user(email="dr@example.com", password="correct horse battery")
    reviewer.groups.add(review_services.ensure_reviewer_group()[0])
    scan = acne_scan(user, 14)
    review_services.save_review(scan=scan, reviewer=reviewer, label="acne", lesion_grade=2)
    review = auth_client.get(detail(scan.id)).json()["review"]
    assert review["label"] == "acne" and review["lesion_grade"] == 2


def test_the_schema_documents_lesions(client):
    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    assert set(components["Lesions"]["properties"]) == {"count", "grade", "grade_name", "summary", "boxes"}
    for name in ("Scan", "ScanPhoto"):
        lesions = components[name]["properties"]["lesions"]
        assert lesions["description"] and "Lesions" in str(lesions)
    assert "lesions" in components["HistorySummary"]["properties"]
    assert "lesion_grade" in components["Review"]["properties"]
