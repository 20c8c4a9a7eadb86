from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Scan
from diagnosis.tests.factories import make_scan

from .helpers import error_of

pytestmark = pytest.mark.django_db

SUMMARY = reverse("api:history-summary")


def test_summary_is_the_confidence_series_of_own_done_scans(auth_client, user, other_user, settings):
    first = make_scan(user, status=Scan.Status.DONE, label="acne",
                      probabilities={"acne": 0.9, "eczema": 0.05, "healthy": 0.03, "rosacea": 0.02})
    Scan.objects.filter(id=first.id).update(created_at=timezone.now() - timedelta(days=2))
    second = make_scan(user, status=Scan.Status.DONE, label="healthy",
                       probabilities={"acne": 0.2, "eczema": 0.1, "healthy": 0.6, "rosacea": 0.1})
    make_scan(user)  # queued: not in the chart
    make_scan(other_user, status=Scan.Status.DONE, label="rosacea")
    response = auth_client.get(SUMMARY)
    assert response.status_code == 200
    body = response.json()
    assert body["classes"] == ["acne", "eczema", "healthy", "rosacea"]
    assert [p["scan_id"] for p in body["points"]] == [str(first.id), str(second.id)]  # oldest first
    assert [pt["y"] for pt in body["series"]["acne"]] == [0.9, 0.2]
    assert [pt["y"] for pt in body["series"]["healthy"]] == [0.03, 0.6]
    assert body["disclaimer"] == settings.DISCLAIMER


def test_summary_date_range(auth_client, user):
    old = make_scan(user, status=Scan.Status.DONE)
    Scan.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=10))
    new = make_scan(user, status=Scan.Status.DONE)
    since = str(timezone.localdate() - timedelta(days=1))
    body = auth_client.get(SUMMARY, {"date_from": since}).json()
    assert [p["scan_id"] for p in body["points"]] == [str(new.id)]


def test_summary_when_empty(auth_client):
    body = auth_client.get(SUMMARY).json()
    assert body["points"] == [] and body["series"] == {c: [] for c in body["classes"]}


@pytest.mark.parametrize("params, field", [({"date_from": "nope"}, "date_from"),
                                           ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "date_to")])
def test_summary_bad_dates_are_400(auth_client, params, field):
    response = auth_client.get(SUMMARY, params)
    assert response.status_code == 400 and field in error_of(response)["fields"]


def test_summary_needs_a_token(api_client):
    assert api_client.get(SUMMARY).status_code == 401
