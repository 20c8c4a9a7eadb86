import pytest
from django.urls import reverse

from review import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def scans(make_scan, model_version, model_version_b):
    """Named scans with distinct confidences, ages, labels, flags and versions."""
    return {
        "a": make_scan(label="acne", top=0.55, age_hours=1, model_version=model_version),
        "b": make_scan(label="eczema", top=0.35, age_hours=5, model_version=model_version_b,
                       quality={"blurry": True, "too_dark": False}),
        "c": make_scan(label="uncertain", top=0.30, age_hours=2, model_version=model_version,
                       quality={"blurry": True, "too_dark": True}),
        "d": make_scan(label="acne", top=0.95, age_hours=10, model_version=model_version_b),
    }


def _ids(qs):
    return [s.id for s in qs]


def test_default_order_is_most_uncertain_first(reviewer, scans):
    assert _ids(selectors.review_queue(reviewer)) == [scans[k].id for k in "cbad"]


def test_oldest_first(reviewer, scans):
    assert _ids(selectors.review_queue(reviewer, order="oldest")) == [scans[k].id for k in "dbca"]


def test_ties_are_broken_by_age(reviewer, make_scan):
    young = make_scan(top=0.5, age_hours=1)
    old = make_scan(top=0.5, age_hours=3)
    assert _ids(selectors.review_queue(reviewer)) == [old.id, young.id]


def test_queue_excludes_reviewed_unfinished_photo_less_and_own_scans(reviewer, make_scan, scans, other_user):
    services.save_review(scan=scans["a"], reviewer=other_user, label="acne")
    make_scan(status="queued")
    make_scan(status="failed")
    make_scan(image=False)
    make_scan(reviewer)
    assert _ids(selectors.review_queue(reviewer)) == [scans[k].id for k in "cbd"]


def test_filters(reviewer, scans, model_version, model_version_b):
    assert _ids(selectors.review_queue(reviewer, label="acne")) == [scans["a"].id, scans["d"].id]
    assert _ids(selectors.review_queue(reviewer, flags=("blurry",))) == [scans["c"].id, scans["b"].id]
    assert _ids(selectors.review_queue(reviewer, flags=("blurry", "too_dark"))) == [scans["c"].id]
    assert _ids(selectors.review_queue(reviewer, flags=("none",))) == [scans["a"].id, scans["d"].id]
    assert _ids(selectors.review_queue(reviewer, model_version=model_version_b)) == [scans["b"].id, scans["d"].id]
    assert _ids(
        selectors.review_queue(reviewer, label="acne", model_version=model_version, order="oldest")
    ) == [scans["a"].id]


def test_queue_page_lists_in_order_with_filters(reviewer_client, scans, model_version_b):
    def listed(params):
        html = reviewer_client.get(reverse("review:queue"), params).content.decode()
        positions = {k: html.find(f'data-scan="{s.id}"') for k, s in scans.items()}
        return "".join(k for k, pos in sorted(positions.items(), key=lambda kv: kv[1]) if pos >= 0)

    assert listed({}) == "cbad"
    assert listed({"order": "oldest"}) == "dbca"
    assert listed({"label": "acne"}) == "ad"
    assert listed({"flags": ["blurry"]}) == "cb"
    assert listed({"model_version": model_version_b.pk, "order": "oldest"}) == "db"
    assert listed({"order": "bogus", "label": "nope"}) == "cbad"  # invalid filters: whole queue


def test_next_in_queue_follows_order_and_wraps(reviewer, scans):
    order = [scans[k] for k in "cbad"]
    for current, expected in zip(order, order[1:] + order[:1], strict=True):
        assert selectors.next_in_queue(reviewer, current) == expected
    oldest = [scans[k] for k in "dbca"]
    assert selectors.next_in_queue(reviewer, oldest[1], order="oldest") == oldest[2]
    assert selectors.next_in_queue(reviewer, scans["a"], label="acne") == scans["d"]
    assert selectors.next_in_queue(reviewer, scans["a"], label="eczema") == scans["b"]


def test_start_opens_the_first_scan_with_filters(reviewer_client, scans):
    response = reviewer_client.get(reverse("review:queue-start"), {"order": "oldest"})
    assert response.status_code == 302
    assert response.url == reverse("review:review-scan", kwargs={"scan_id": scans["d"].id}) + "?order=oldest"
