from datetime import UTC, datetime

import pytest
from django.urls import reverse

from review import selectors, services
from review.models import Review

pytestmark = pytest.mark.django_db

WEEK1 = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)  # Wednesday; week starts Monday 2 Nov
WEEK2 = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)  # Thursday; week starts Monday 9 Nov

# (version, model label, reviewer label, when)
CASES = [
    ("a", "acne", "acne", WEEK1),
    ("a", "acne", "eczema", WEEK1),
    ("a", "eczema", "eczema", WEEK1),
    ("a", "uncertain", "rosacea", WEEK2),
    ("a", "acne", "unusable", WEEK2),
    ("b", "rosacea", "rosacea", WEEK2),
    ("b", "healthy", "healthy", WEEK2),
    ("b", "healthy", "acne", WEEK2),
]


@pytest.fixture
def reviewed(make_scan, reviewer, model_version, model_version_b):
    versions = {"a": model_version, "b": model_version_b}
    for version, model_label, reviewer_label, when in CASES:
        scan = make_scan(label=model_label, model_version=versions[version])
        review, _ = services.save_review(scan=scan, reviewer=reviewer, label=reviewer_label)
        Review.objects.filter(pk=review.pk).update(created_at=when)


def test_hand_computed_figures(reviewed):
    stats = selectors.agreement_stats()
    # 8 reviews, 1 unusable; the reviewer kept the model's label in cases 1, 3, 6 and 7.
    assert (stats["total"], stats["usable"], stats["unusable"], stats["agreed"]) == (8, 7, 1, 4)
    assert stats["agreement"] == round(4 / 7, 4)
    m = stats["matrix"]
    assert m["acne"] == {"acne": 1, "eczema": 1, "healthy": 0, "rosacea": 0, "unusable": 1}
    assert m["eczema"]["eczema"] == 1 and m["uncertain"]["rosacea"] == 1 and m["rosacea"]["rosacea"] == 1
    assert m["healthy"] == {"acne": 1, "eczema": 0, "healthy": 1, "rosacea": 0, "unusable": 0}
    assert sum(sum(row.values()) for row in m.values()) == 8
    assert sum(m["no_skin"].values()) == 0
    pc = stats["per_class"]
    #            model said, reviewer said, both, confirmed = both/model, found = both/reviewer
    assert pc["acne"] == {"model_count": 2, "reviewer_count": 2, "agreed": 1, "confirmed_rate": 0.5, "found_rate": 0.5}
    assert pc["eczema"] == {"model_count": 1, "reviewer_count": 2, "agreed": 1, "confirmed_rate": 1.0,
                            "found_rate": 0.5}
    assert pc["healthy"] == {"model_count": 2, "reviewer_count": 1, "agreed": 1, "confirmed_rate": 0.5,
                             "found_rate": 1.0}
    assert pc["rosacea"] == {"model_count": 1, "reviewer_count": 2, "agreed": 1, "confirmed_rate": 1.0,
                             "found_rate": 0.5}
    assert stats["by_version"] == [
        {"version": "vgg16-a", "total": 5, "usable": 4, "agreed": 2, "unusable": 1, "agreement": 0.5},
        {"version": "vgg16-b", "total": 3, "usable": 3, "agreed": 2, "unusable": 0, "agreement": 0.6667},
    ]
    assert stats["timeline"] == [
        {"period": "2026-11-02", "version": "vgg16-a", "usable": 3, "agreed": 2, "agreement": 0.6667},
        {"period": "2026-11-09", "version": "vgg16-a", "usable": 1, "agreed": 0, "agreement": 0.0},
        {"period": "2026-11-09", "version": "vgg16-b", "usable": 3, "agreed": 2, "agreement": 0.6667},
    ]


def test_per_version_filter_and_periods(reviewed, model_version_b):
    stats = selectors.agreement_stats(model_version=model_version_b)
    assert (stats["total"], stats["usable"], stats["agreed"], stats["agreement"]) == (3, 3, 2, 0.6667)
    by_month = selectors.agreement_stats(period="month")["timeline"]
    assert [(p["period"], p["version"], p["usable"]) for p in by_month] == [("2026-11-01", "vgg16-a", 4),
                                                                             ("2026-11-01", "vgg16-b", 3)]
    by_day = selectors.agreement_stats(period="day")["timeline"]
    assert [p["period"] for p in by_day] == ["2026-11-04", "2026-11-12", "2026-11-12"]


def test_no_reviews_gives_empty_figures():
    stats = selectors.agreement_stats()
    assert stats["total"] == 0 and stats["agreement"] is None and stats["timeline"] == []
    assert all(c["confirmed_rate"] is None for c in stats["per_class"].values())


def test_dashboard_page_json_and_pictures(reviewer_client, reviewed, model_version):
    html = reviewer_client.get(reverse("review:dashboard")).content.decode()
    assert 'id="stat-total">8<' in html and 'id="stat-agreement">57%<' in html
    assert reverse("review:dashboard-confusion") in html and reverse("review:dashboard-timeline") in html
    data = reviewer_client.get(reverse("review:dashboard-data"), {"model_version": model_version.pk}).json()
    assert data["total"] == 5 and data["agreement"] == 0.5
    for name in ("review:dashboard-confusion", "review:dashboard-timeline"):
        response = reviewer_client.get(reverse(name), {"period": "day"})
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG") and len(response.content) > 5000


def test_pictures_render_with_no_reviews(reviewer_client):
    for name in ("review:dashboard-confusion", "review:dashboard-timeline"):
        assert reviewer_client.get(reverse(name)).content.startswith(b"\x89PNG")
