import re

import pytest
from django.urls import reverse

from review.models import AuditEvent, Review

pytestmark = pytest.mark.django_db


def _url(scan, qs=""):
    return reverse("review:review-scan", kwargs={"scan_id": scan.id}) + (f"?{qs}" if qs else "")


def test_review_page_shows_image_heatmap_probabilities_and_flags(reviewer_client, make_scan):
    scan = make_scan(label="eczema", top=0.62, quality={"blurry": True, "too_dark": False})
    html = reviewer_client.get(_url(scan)).content.decode()
    assert reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "image"}) in html
    assert reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "heatmap"}) in html
    assert "62%" in html and "Eczema" in html
    assert "blurry" in html and "too_dark" not in html
    assert re.search(r'value="eczema"[^>]*checked', html)  # the model's label is preselected
    assert "<script>" not in html  # no inline scripts (strict CSP)


def test_confirm_correct_and_unusable(reviewer_client, reviewer, make_scan):
    a = make_scan(label="acne", top=0.3)
    b = make_scan(label="acne", top=0.4)
    c = make_scan(label="uncertain", top=0.5)
    reviewer_client.post(_url(a), {"action": "confirm"})
    reviewer_client.post(_url(b), {"label": "rosacea", "comment": "papules, no comedones"})
    reviewer_client.post(_url(c), {"label": "unusable"})
    got = {r.scan_id: (r.label, r.model_label, r.comment, r.reviewer_id) for r in Review.objects.all()}
    assert got == {
        a.id: ("acne", "acne", "", reviewer.id),
        b.id: ("rosacea", "acne", "papules, no comedones", reviewer.id),
        c.id: ("unusable", "uncertain", "", reviewer.id),
    }


def test_submit_moves_to_the_next_scan_with_the_same_filters(reviewer_client, make_scan):
    first = make_scan(label="acne", top=0.3, age_hours=9)
    make_scan(label="eczema", top=0.35)
    second = make_scan(label="acne", top=0.4, age_hours=1)
    response = reviewer_client.post(_url(first, "label=acne"), {"label": "acne"})
    assert response.status_code == 302 and response.url == _url(second, "label=acne")
    response = reviewer_client.post(_url(second, "label=acne"), {"label": "healthy"})
    assert response.url == reverse("review:queue") + "?label=acne"  # that queue is clear
    assert "The queue is clear" in reviewer_client.get(response.url).content.decode()


def test_invalid_submission_is_400_and_saves_nothing(reviewer_client, make_scan):
    scan = make_scan(label="uncertain")
    assert reviewer_client.post(_url(scan), {"label": "melanoma"}).status_code == 400
    assert reviewer_client.post(_url(scan), {"action": "confirm"}).status_code == 400  # nothing to confirm
    assert reviewer_client.post(_url(scan), {"label": "acne", "comment": "x" * 2001}).status_code == 400
    assert not Review.objects.exists()


def test_rereview_updates_the_single_review(reviewer_client, reviewer, make_scan):
    scan = make_scan(label="acne")
    reviewer_client.post(_url(scan), {"label": "acne"})
    first = Review.objects.get()
    reviewer_client.post(_url(scan), {"label": "eczema"})
    review = Review.objects.get()
    assert review.pk == first.pk and review.label == "eczema" and review.created_at == first.created_at
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "review.created", "review.updated"]


def test_owner_sees_reviewer_label_beside_model_label(reviewer_client, client, user, make_scan):
    scan = make_scan(user, label="acne")
    reviewer_client.post(_url(scan), {"label": "rosacea", "comment": "private note"})
    client.force_login(user)
    html = client.get(reverse("diagnosis:scan-detail", kwargs={"scan_id": scan.id})).content.decode()
    assert "Reviewed by a clinician" in html and "Rosacea" in html and "model said Acne" in html
    assert "private note" not in html and "dr.who" not in html


def test_clear_a_queue_of_twenty(reviewer_client, make_scan):
    for i in range(20):
        make_scan(label=["acne", "eczema", "healthy", "rosacea", "uncertain"][i % 5], top=0.3 + i / 50)
    url = reviewer_client.get(reverse("review:queue-start")).url
    for _ in range(20):
        page = reviewer_client.get(url)
        assert page.status_code == 200
        url = reviewer_client.post(url, {"label": "healthy"}).url
    assert url == reverse("review:queue")
    assert Review.objects.count() == 20
    assert "0</strong> unreviewed scans" in reviewer_client.get(url).content.decode()
