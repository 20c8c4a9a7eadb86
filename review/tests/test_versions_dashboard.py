"""The dashboard measures every version (active, shadow, past) on the reviewed scans it judged."""

import re

import pytest
from django.urls import reverse

from ml.tests.factories import ModelVersionFactory
from review import selectors, services
from review.models import ModelResult

pytestmark = pytest.mark.django_db


def result(scan, version, kind, label, tone):
    probabilities = {c: (0.7 if c == label else 0.1) for c in ("acne", "eczema", "healthy", "rosacea")}
    return ModelResult.objects.create(scan=scan, model_version=version, kind=kind, label=label, tone=tone,
                                      probabilities=probabilities, top_probability=0.7, feature_distance=3.0)


@pytest.fixture
def measured(make_scan, reviewer):
    from django.utils import timezone

    active = ModelVersionFactory(name="v-active", active=True, activated_at=timezone.now())
    shadow = ModelVersionFactory(name="v-shadow", shadow=True)
    past = ModelVersionFactory(name="v-past")  # served scans before results were kept apart
    truths = ["acne", "acne", "eczema", "healthy", "healthy", "rosacea"]
    for i, truth in enumerate(truths):
        scan = make_scan(label=truth, model_version=active)
        result(scan, active, "served", truth, "light" if i % 2 else "dark")
        result(scan, shadow, "shadow", "acne", "light" if i % 2 else "dark")  # says acne to everything
        services.save_review(scan=scan, reviewer=reviewer, label=truth)
    old = make_scan(label="eczema", model_version=past)
    services.save_review(scan=old, reviewer=reviewer, label="rosacea")
    unreviewed = make_scan(label="acne", model_version=active)
    result(unreviewed, shadow, "shadow", "eczema", "light")
    return active, shadow, past


def test_every_version_is_measured_on_the_reviewed_scans_it_judged(measured):
    active, shadow, past = measured
    figures = {v["version"]: v for v in selectors.version_figures(n_boot=200)}
    assert [v["role"] for v in figures.values()] == ["active", "shadow", "past"]
    assert figures["v-active"]["figures"]["n"] == 6 and figures["v-active"]["figures"]["accuracy"]["value"] == 1.0
    assert figures["v-shadow"]["figures"]["n"] == 6  # the unreviewed scan does not count
    assert figures["v-shadow"]["figures"]["accuracy"]["value"] == pytest.approx(2 / 6, abs=1e-4)
    assert figures["v-shadow"]["figures"]["healthy_called_condition"]["value"] == 1.0
    assert figures["v-shadow"]["figures"]["per_tone"]["dark"]["n"] == 3
    assert figures["v-past"]["figures"]["n"] == 1 and figures["v-past"]["figures"]["accuracy"]["value"] == 0.0
    assert figures["v-past"]["figures"]["per_tone"] == {"unknown": figures["v-past"]["figures"]["per_tone"]["unknown"]}


def test_the_dashboard_shows_them_with_intervals_and_a_picture(measured, reviewer_client):
    page = reviewer_client.get(reverse("review:dashboard")).content.decode()
    rows = re.findall(r'<tr data-version="([^"]+)">', page)
    assert rows == ["v-active", "v-shadow", "v-past"]
    assert "Healthy called a condition" in page and "per skin-tone group" in page
    assert re.search(r"33% \(\d+–\d+\)", page)  # the shadow's accuracy with its interval
    picture = reviewer_client.get(reverse("review:dashboard-versions"))
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    data = reviewer_client.get(reverse("review:dashboard-data")).json()
    assert [v["version"] for v in data["versions"]] == ["v-active", "v-shadow", "v-past"]


def test_people_who_are_not_reviewers_see_none_of_it(measured, user_client):
    for name in ("review:dashboard", "review:dashboard-data", "review:dashboard-versions", "review:dashboard-drift"):
        assert user_client.get(reverse(name)).status_code == 403


def test_the_new_sections_are_translated(measured, reviewer_client):
    page = reviewer_client.get(reverse("review:dashboard"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    for text in ("Cada versión del modelo en los análisis revisados", "Piel sana calificada de afección",
                 "Deriva: ¿están cambiando las fotos?", ">en sombra<"):
        assert text in page, text
