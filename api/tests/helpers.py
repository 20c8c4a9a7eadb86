"""Helpers shared by the API tests."""

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from diagnosis import services
from diagnosis.models import Scan
from tests.support import face_like_jpeg

PASSWORD = "correct horse battery"
PROBABILITIES = {"acne": 0.81, "eczema": 0.09, "healthy": 0.06, "rosacea": 0.04}


def obtain_tokens(client, email, password=PASSWORD):
    response = client.post(reverse("api:token"), {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def error_of(response):
    """The `error` object of an error response, checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def jpeg_upload(data=None, name="face.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, face_like_jpeg() if data is None else data, content_type=content_type)


def make_scan(owner, *, status=Scan.Status.QUEUED, label="", probabilities=None, heatmap=False, model_version=None,
              note="", error=""):
    """A scan created through the real upload service, then moved to the wanted state."""
    scan, _ = services.create_scan(owner=owner, uploaded_file=jpeg_upload(), note=note)
    scan.status = status
    if status == Scan.Status.DONE:
        scan.label = label or "acne"
        scan.probabilities = probabilities or dict(PROBABILITIES)
        scan.top_probability = max(scan.probabilities.values())
        scan.quality = {"blurry": True, "too_dark": False}
        scan.model_version = model_version
        scan.completed_at = timezone.now()
    if status == Scan.Status.FAILED:
        scan.error = error or "The photo could not be analysed (ValueError). Try another photo."
        scan.completed_at = timezone.now()
    if heatmap:
        scan.heatmap.save("heat.jpg", ContentFile(face_like_jpeg(size=(224, 224), seed=3)), save=False)
        scan.heatmap_box = [0.25, 0.1, 0.75, 0.6]
    scan.save()
    return scan
