"""The words of a result match how sure the model is: "Likely" only from LIKELY_PROBABILITY on, "Possibly"
below it, the same on the page, in the API's `summary` (per scan and per photo) and in Spanish."""

import pytest
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import make_multi_photo_scan, make_scan
from ml.core.decision import LIKELY_PROBABILITY, confidence_word

pytestmark = pytest.mark.django_db


def probabilities(label, top):
    rest = {"acne": 0.0, "eczema": 0.0, "healthy": 0.0, "rosacea": 0.0}
    rest.update({c: (1 - top) / 3 for c in rest if c != label})
    rest[label] = top
    return rest


def done_scan(user, label, top):
    scan = make_scan(user, status=Scan.Status.DONE, label=label, probabilities=probabilities(label, top))
    assert scan.top_probability == pytest.approx(top)
    return scan


def test_the_word_follows_the_calibrated_probability():
    assert confidence_word("acne", LIKELY_PROBABILITY) == "likely"
    assert confidence_word("healthy", 0.95) == "likely"
    assert confidence_word("rosacea", LIKELY_PROBABILITY - 0.01) == "possibly"
    assert confidence_word("eczema", None) == "possibly"  # a class without a stored probability: the cautious word
    assert confidence_word("uncertain", 0.9) is None and confidence_word("no_skin", 0.9) is None


@pytest.mark.parametrize(("label", "top", "words"), [
    ("acne", 0.85, "Likely acne"), ("acne", 0.55, "Possibly acne"),
    ("rosacea", 0.45, "Possibly rosacea"), ("healthy", 0.9, "Looks healthy"), ("healthy", 0.6, "Possibly healthy"),
])
def test_page_and_api_say_the_same_words(user_client, auth_client, user, label, top, words):
    scan = done_scan(user, label, top)
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert f'id="result-label">{words}' in " ".join(html.split()).replace('id="result-label"> ', 'id="result-label">')
    body = auth_client.get(reverse("api:scan-detail", kwargs={"scan_id": scan.id})).json()
    assert body["summary"] == words
    assert body["photos"][0]["summary"] == words


def test_no_class_is_not_worded_as_a_condition(auth_client, user):
    scan = make_scan(user, status=Scan.Status.DONE, label="uncertain")
    body = auth_client.get(reverse("api:scan-detail", kwargs={"scan_id": scan.id})).json()
    assert body["summary"] == "Can't tell from this photo"
    queued = make_scan(user)
    assert auth_client.get(reverse("api:scan-detail", kwargs={"scan_id": queued.id})).json()["summary"] is None


def test_spanish_has_the_same_two_levels(auth_client, user):
    sure, unsure = done_scan(user, "acne", 0.9), done_scan(user, "healthy", 0.5)
    said = [auth_client.get(reverse("api:scan-detail", kwargs={"scan_id": s.id}), HTTP_ACCEPT_LANGUAGE="es").json()
            for s in (sure, unsure)]
    assert [s["summary"] for s in said] == ["Probablemente acné", "Posiblemente sana"]


def test_each_photo_of_a_multi_photo_scan_is_worded_by_its_own_probability(auth_client, user):
    scan = make_multi_photo_scan(user, views=("left",), status=Scan.Status.DONE, photo_labels=("acne", "acne"))
    body = auth_client.get(reverse("api:scan-detail", kwargs={"scan_id": scan.id})).json()
    assert [p["summary"] for p in body["photos"]] == ["Likely acne", "Likely acne"]  # 0.7 each: "likely" from 0.7
