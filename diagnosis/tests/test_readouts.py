"""Readouts as seams: a readout registered in one line (``diagnosis.readouts.register``) reaches the result
page, the review page, the PDF report, the API and the data export without any of them naming it."""

import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from diagnosis import readouts
from diagnosis.models import Scan
from diagnosis.readouts.base import Readout
from diagnosis.tests.factories import make_multi_photo_scan

pytestmark = pytest.mark.django_db


class PhotoSizeReadout(Readout):
    """A toy readout: the photo's size, read from columns every photo has (so it needs no migration)."""

    name = "photo_size"

    def row_fields(self, prediction, saved):
        return {}

    def api_value(self, photo):
        return {"width": photo.files.image_width, "height": photo.files.image_height} if photo.result else None

    def summary(self, photo):
        return f"Photo size {photo.files.image_width} x {photo.files.image_height} px" if photo.result else ""


@pytest.fixture
def photo_size_readout():
    readouts.register(PhotoSizeReadout())
    yield
    readouts.READOUTS.pop("photo_size")


@pytest.fixture
def scan(user):
    return make_multi_photo_scan(user, views=("left",), status=Scan.Status.DONE)


def test_a_registered_readout_is_listed_for_each_photo_on_the_result_and_review_pages(
    photo_size_readout, user_client, scan, django_user_model
):
    from review.services import ensure_reviewer_group

    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert html.count('class="photo-photo_size">Photo size 400 x 400 px</p>') == 2  # front and left
    reviewer = django_user_model.objects.create_user(email="dr@example.com", password="correct horse battery")
    reviewer.groups.add(ensure_reviewer_group()[0])
    review = Client()
    review.force_login(reviewer)
    assert "Photo size 400 x 400 px" in review.get(reverse("review:review-scan", args=[scan.id])).content.decode()


def test_a_registered_readout_is_in_the_pdf_the_api_and_the_data_export(photo_size_readout, user_client, user, scan):
    pdf = PdfReader(io.BytesIO(user_client.get(reverse("diagnosis:report")).content))
    assert "Photo size 400 x 400 px" in "\n".join(page.extract_text() for page in pdf.pages)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    photos = api.get(f"/api/v1/scans/{scan.id}/").json()["photos"]
    assert [p["readouts"]["photo_size"] for p in photos] == [{"width": 400, "height": 400}] * 2
    assert set(photos[0]["readouts"]) == set(readouts.READOUTS)  # heatmap, lesions and the new one

    export = zipfile.ZipFile(io.BytesIO(user_client.get(reverse("diagnosis:data-export")).content))
    (entry,) = json.loads(export.read("data.json"))["scans"]
    assert [p["readouts"]["photo_size"] for p in entry["photos"]] == [{"width": 400, "height": 400}] * 2


def test_without_the_registration_nothing_shows_it(user_client, scan):
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "Photo size" not in html and "photo_size" not in readouts.READOUTS
