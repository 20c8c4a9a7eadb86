import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.support import face_like_jpeg


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Every test writes media under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(email="alice@example.com", password="correct horse battery")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(email="bob@example.com", password="correct horse battery")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def photo_upload():
    def make(data=None, name="face.jpg", content_type="image/jpeg"):
        return SimpleUploadedFile(name, face_like_jpeg() if data is None else data, content_type=content_type)

    return make
