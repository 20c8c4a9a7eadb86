"""Compare: a before/after slider and one line that says what changed (issue 23, point 6). The slider
itself is dragged in tests/test_browser_pages.py."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


def scan(user, days_ago, label, probabilities):
    made = ScanFactory(owner=user, label=label, probabilities=probabilities, image_width=480, image_height=600)
    Scan.objects.filter(id=made.id).update(created_at=timezone.now() - timedelta(days=days_ago))
    made.refresh_from_db()
    return made


def compare(client, a, b):
    return client.get(reverse("diagnosis:compare"), {"scan": [a.id, b.id]}).content.decode()


def test_one_line_says_what_changed_most(user_client, user):
    before = scan(user, 10, "acne", {"acne": 0.8, "eczema": 0.1, "healthy": 0.05, "rosacea": 0.05})
    after = scan(user, 1, "healthy", {"acne": 0.3, "eczema": 0.05, "healthy": 0.6, "rosacea": 0.05})
    html = compare(user_client, after, before)
    summary = re.search(r'id="change-summary">([^<]*)<', html).group(1)
    assert summary == "The acne match went down from 80% to 30% in 9 days."
    worse = scan(user, 0, "rosacea", {"acne": 0.1, "eczema": 0.05, "healthy": 0.2, "rosacea": 0.65})
    up = re.search(r'id="change-summary">([^<]*)<', compare(user_client, after, worse)).group(1)
    assert up == "The rosacea match went up from 5% to 65% in 1 day."


def test_little_change_is_called_so(user_client, user):
    a = scan(user, 3, "acne", {"acne": 0.62, "eczema": 0.1, "healthy": 0.2, "rosacea": 0.08})
    b = scan(user, 0, "acne", {"acne": 0.6, "eczema": 0.12, "healthy": 0.2, "rosacea": 0.08})
    summary = re.search(r'id="change-summary">([^<]*)<', compare(user_client, a, b)).group(1)
    assert summary.startswith("Little change in 3 days")


def test_the_slider_lays_the_newer_photo_over_the_older(user_client, user):
    before = scan(user, 10, "acne", {"acne": 0.8, "eczema": 0.1, "healthy": 0.05, "rosacea": 0.05})
    after = scan(user, 1, "healthy", {"acne": 0.3, "eczema": 0.05, "healthy": 0.6, "rosacea": 0.05})
    html = compare(user_client, before, after)
    slider = html[html.index('id="compare-slider"'):html.index("</figure>", html.index('id="compare-slider"'))]
    assert f"/media/scans/{before.id}/image.jpg" in slider.split("slider-after")[0]
    assert re.search(rf'class="slider-after" src="/media/scans/{after.id}/image.jpg"', slider)
    assert 'type="range"' in slider and 'aspect-ratio: 480 / 600' in slider
    assert '<label for="slider-range">' in slider  # the range has a name a screen reader says
    assert "compare-slider.js" in html


def test_no_summary_without_a_result_on_both(user_client, user):
    a = scan(user, 3, "acne", {"acne": 0.6, "eczema": 0.2, "healthy": 0.1, "rosacea": 0.1})
    b = scan(user, 1, "no_skin", {"acne": 0.3, "eczema": 0.3, "healthy": 0.2, "rosacea": 0.2})
    html = compare(user_client, a, b)
    assert 'id="change-summary"' not in html and 'id="not-comparable"' in html
