import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from api import throttles
from ml.tests.factories import ModelVersionFactory

from .helpers import obtain_tokens


@pytest.fixture(autouse=True)
def fresh_throttle_cache(monkeypatch):
    """Every test starts with empty throttle counters, in a private cache. (The default cache is the
    shared test Redis: clearing it would flush other processes' data, and its counters would leak
    between test runs.)"""
    monkeypatch.setattr(throttles._LiveRateMixin, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}),
                        raising=False)


@pytest.fixture
def api_client():
    return APIClient()


def _client_for(user):
    client = APIClient()
    access = obtain_tokens(client, user.email)["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def auth_client(user):
    """An APIClient sending a real access token for `user` (alice)."""
    return _client_for(user)


@pytest.fixture
def other_client(other_user):
    """An APIClient sending a real access token for `other_user` (bob)."""
    return _client_for(other_user)


@pytest.fixture
def model_version(db):
    return ModelVersionFactory(name="vgg16-test-1")
