import pytest

from diagnosis.tests.factories import finished_scan
from ml.tests.factories import ModelVersionFactory
from review import services


@pytest.fixture
def model_version():
    return ModelVersionFactory(name="vgg16-a")


@pytest.fixture
def model_version_b():
    return ModelVersionFactory(name="vgg16-b")


@pytest.fixture
def make_scan(user):
    """A finished scan with a stored photo, thumbnail and heatmap (no model needed); `user`'s by default."""

    def make(owner=None, **kwargs):
        return finished_scan(owner or user, **kwargs)

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
