import itertools
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from diagnosis.models import CONDITIONS, Scan
from ml.models import ModelVersion
from review import services
from tests.support import face_like_jpeg

_seq = itertools.count()


@pytest.fixture
def model_version():
    return ModelVersion.objects.create(name="vgg16-a", artifact_path="/nowhere/a", sha256="a" * 64,
                                       classes=list(CONDITIONS))


@pytest.fixture
def model_version_b():
    return ModelVersion.objects.create(name="vgg16-b", artifact_path="/nowhere/b", sha256="b" * 64,
                                       classes=list(CONDITIONS))


@pytest.fixture
def make_scan(user):
    """A finished scan with a stored photo, thumbnail and heatmap (no model needed)."""

    def make(owner=None, *, label="acne", top=0.9, quality=None, model_version=None, age_hours=0,
             status=Scan.Status.DONE, image=True):
        n = next(_seq)
        probs = {c: round((1 - top) / 3, 4) for c in CONDITIONS}
        if label in CONDITIONS:
            probs[label] = top
        scan = Scan(owner=owner or user, status=status, label=label if status == Scan.Status.DONE else "",
                    probabilities=probs, top_probability=top, quality=quality or {},
                    model_version=model_version, completed_at=timezone.now())
        if image:
            data = face_like_jpeg(size=(96, 96), seed=n)
            scan.image.save("x.jpg", ContentFile(data), save=False)
            scan.thumbnail.save("x.jpg", ContentFile(data), save=False)
            scan.heatmap.save("x.jpg", ContentFile(data), save=False)
        scan.save()
        created = timezone.now() - timedelta(hours=age_hours)
        Scan.objects.filter(pk=scan.pk).update(created_at=created)
        scan.created_at = created
        return scan

    return make


@pytest.fixture
def reviewer(django_user_model):
    group, _ = services.ensure_reviewer_group()
    person = django_user_model.objects.create_user(email="dr.who@example.com", password="correct horse battery")
    person.groups.add(group)
    return person


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client
