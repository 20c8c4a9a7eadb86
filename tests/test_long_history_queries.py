"""The pages that list scans run a fixed number of SQL queries, however long the history is.

Timings for 1,000 scans are measured by bench/long_history.py; here the query counts are pinned.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis.models import Scan, ScanPhoto
from ml.tests.factories import ModelVersionFactory
from review.models import Review
from review.services import ensure_reviewer_group

pytestmark = pytest.mark.django_db

# The counts measured when these tests were written (session, user, count, page, ...): a new query per row fails.
# History: +1 for the chart's empty state (one EXISTS; the chart and its table load from the chart endpoint).
# API list: +1 for the page's scans' other photos (`photos`: one prefetch query for the whole page).
# History: +1 for whether to show the lesion chart (one EXISTS; its points come with the chart endpoint's rows).
# History: +1 for the page's photos (every photo is a ScanPhoto row: one prefetch query for the thumbnails).
MAX_QUERIES = {"history": 9, "chart": 3, "api_list": 4, "review_queue": 7}


@pytest.fixture
def reviewer(django_user_model):
    group, _ = ensure_reviewer_group()
    reviewer = django_user_model.objects.create_user(email="reviewer@example.com", password="correct horse battery")
    reviewer.groups.add(group)
    return reviewer


@pytest.fixture
def seed(user, reviewer):
    version = ModelVersionFactory(name="seeded")
    made = 0

    def add(n):
        """n more finished scans for `user`, every fourth one reviewed."""
        nonlocal made
        now = timezone.now()
        scans = Scan.objects.bulk_create([
            Scan(owner=user, status=Scan.Status.DONE, label="acne", top_probability=0.5 + (i % 50) / 100,
                 probabilities={"acne": 0.7, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.1},
                 quality={"blurry": i % 3 == 0}, model_version=version,
                 completed_at=now - timedelta(hours=made + i), note="n" * (i % 2))
            for i in range(n)
        ])
        ScanPhoto.objects.bulk_create([
            ScanPhoto(scan=s, view="front", image=f"scans/s{made + i}.jpg", thumbnail=f"thumbs/s{made + i}.jpg",
                      heatmap=f"heatmaps/s{made + i}.jpg", label="acne", probabilities=s.probabilities,
                      counted=True)
            for i, s in enumerate(scans)
        ])
        Review.objects.bulk_create([Review(scan=s, reviewer=reviewer, label="acne") for s in scans[::4]])
        made += n

    return add


def pages(user, reviewer):
    """Each list page as a request callable: the owner's history, chart data and API list; the review queue."""
    owner_client, reviewer_client, api_client = Client(), Client(), Client()
    owner_client.force_login(user)
    reviewer_client.force_login(reviewer)
    token = str(RefreshToken.for_user(user).access_token)
    return {
        "history": lambda: owner_client.get(reverse("diagnosis:history")),
        "chart": lambda: owner_client.get(reverse("diagnosis:chart-data")),
        "api_list": lambda: api_client.get("/api/v1/scans/?page_size=100", HTTP_AUTHORIZATION=f"Bearer {token}"),
        "review_queue": lambda: reviewer_client.get(reverse("review:queue")),
    }


def query_counts(requests):
    counts = {}
    for name, request in requests.items():
        with CaptureQueriesContext(connection) as queries:
            response = request()
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


def test_list_pages_run_the_same_queries_for_3_and_300_scans(user, reviewer, seed):
    requests = pages(user, reviewer)
    seed(3)
    few = query_counts(requests)
    seed(297)
    many = query_counts(requests)
    assert many == few, f"query count grows with the history: {few} -> {many}"


@pytest.mark.parametrize("page", sorted(MAX_QUERIES))
def test_list_page_query_budget_with_a_long_history(page, user, reviewer, seed, django_assert_max_num_queries):
    seed(300)
    request = pages(user, reviewer)[page]
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        response = request()
    assert response.status_code == 200
