from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


def scan_at(user, days_ago, label, probabilities, status=Scan.Status.DONE):
    scan = ScanFactory(owner=user, label=label, probabilities=probabilities, status=status)
    Scan.objects.filter(id=scan.id).update(created_at=timezone.now() - timedelta(days=days_ago))
    return scan


def scan_list(response):
    """The list of scans on the history page (the chart's table above it is oldest first)."""
    html = response.content.decode()
    return html[html.index('<table class="history cards">'):]


def test_history_is_newest_first_with_filters(user_client, user):
    old = scan_at(user, 10, "acne", {"acne": 0.8})
    new = scan_at(user, 1, "rosacea", {"rosacea": 0.9})
    html = scan_list(user_client.get(reverse("diagnosis:history")))
    assert html.index(str(new.id)) < html.index(str(old.id))
    only_acne = user_client.get(reverse("diagnosis:history"), {"label": "acne"}).content.decode()
    assert str(old.id) in only_acne and str(new.id) not in only_acne
    since = (timezone.now() - timedelta(days=3)).date().isoformat()
    recent = user_client.get(reverse("diagnosis:history"), {"date_from": since}).content.decode()
    assert str(new.id) in recent and str(old.id) not in recent


def test_chart_data_is_each_conditions_confidence_over_time(user_client, user, other_user):
    scan_at(user, 5, "acne", {"acne": 0.7, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.1})
    scan_at(user, 2, "healthy", {"acne": 0.2, "eczema": 0.05, "healthy": 0.7, "rosacea": 0.05})
    scan_at(user, 1, "", {}, status=Scan.Status.QUEUED)  # unfinished scans have no confidences yet
    scan_at(other_user, 1, "eczema", {"eczema": 0.9})
    data = user_client.get(reverse("diagnosis:chart-data")).json()
    assert data["classes"] == ["acne", "eczema", "healthy", "rosacea"]
    assert [p["y"] for p in data["series"]["acne"]] == [0.7, 0.2]
    assert [p["y"] for p in data["series"]["healthy"]] == [0.1, 0.7]
    assert len(data["points"]) == 2
    assert data["series"]["acne"][0]["t"] < data["series"]["acne"][1]["t"]
    # each condition's colour and point shape, the PDF's too (diagnosis.results.CHART_STYLES)
    assert set(data["styles"]) == set(data["classes"]) and data["styles"]["acne"]["colour"] == "#D55E00"


def test_note_is_saved(user_client, user):
    scan = ScanFactory(owner=user)
    user_client.post(reverse("diagnosis:scan-note", args=[scan.id]), {"note": "after new cream"})
    scan.refresh_from_db()
    assert scan.note == "after new cream"


def test_compare_two_scans_side_by_side(user_client, user):
    a, b = ScanFactory(owner=user, label="acne"), ScanFactory(owner=user, label="healthy")
    response = user_client.get(reverse("diagnosis:compare"), {"scan": [a.id, b.id]})
    assert response.status_code == 200
    html = response.content.decode()
    for scan in (a, b):  # each photo in the before/after slider and side by side
        assert html.count(f"/media/scans/{scan.id}/image.jpg") == 2


def test_compare_needs_exactly_two(user_client, user):
    a = ScanFactory(owner=user)
    assert user_client.get(reverse("diagnosis:compare"), {"scan": [a.id]}).status_code == 302


def test_failed_scan_shows_reason_and_retry_button(user_client, user):
    scan = ScanFactory(owner=user, status=Scan.Status.FAILED, label="", error="The photo could not be analysed.")
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "The photo could not be analysed." in html and "Retry analysis" in html
    assert str(scan.id) in user_client.get(reverse("diagnosis:history")).content.decode()


def test_result_page_shows_all_parts(user_client, user):
    scan = ScanFactory(owner=user, quality={"blurry": True, "no_face": False})
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    for text in ("Acne", "Eczema", "Healthy", "Rosacea", "70%", "blurry", "not a diagnosis", "Model version"):
        assert text in html


def test_history_is_paginated(user_client, user):
    for _ in range(51):
        ScanFactory(owner=user, thumbnail="")
    first = user_client.get(reverse("diagnosis:history")).content.decode()
    second = user_client.get(reverse("diagnosis:history"), {"page": 2}).content.decode()
    assert "Page 1 of 2" in first and first.count('name="scan"') == 50
    assert second.count('name="scan"') == 1
