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


@pytest.fixture(scope="session")
def model_variants(tiny_artifact_dir, tmp_path_factory):
    """Three copies of the session's tiny model that always give a condition: "right" (as trained),
    and "rotated-1" / "rotated-2", which say another condition than "right" on every photo."""
    from ml.tests.factories import variant_artifact

    root = tmp_path_factory.mktemp("variants")
    return {
        "right": variant_artifact(tiny_artifact_dir, root / "right", name="tiny-right"),
        "rotated-1": variant_artifact(tiny_artifact_dir, root / "rotated-1", name="tiny-rotated-1", rotate=1),
        "rotated-2": variant_artifact(tiny_artifact_dir, root / "rotated-2", name="tiny-rotated-2", rotate=2),
    }


@pytest.fixture
def fresh_models():
    """The per-process model caches start and end empty (versions come and go between tests)."""
    from ml import runtime

    runtime.clear_cache()
    yield
    runtime.clear_cache()
