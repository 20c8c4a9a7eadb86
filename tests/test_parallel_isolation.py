"""Under pytest-xdist every worker has its own PostgreSQL test database (pytest-django) and its own Redis
database (facediag_site/test_settings.py), so one worker's flush or queue never reaches another's."""

import os

import pytest
from django.conf import settings

from facediag_site.test_settings import redis_url_for_worker


def test_each_worker_takes_the_redis_database_below_the_last():
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw3") == "redis://127.0.0.1:6379/12"
    assert redis_url_for_worker("redis://cache:6380", "gw0") == "redis://cache:6380/0"
    with pytest.raises(ValueError, match="no Redis database"):
        redis_url_for_worker("redis://127.0.0.1:6379/1", "gw2")


@pytest.mark.skipif(not os.environ.get("PYTEST_XDIST_WORKER"), reason="runs under pytest-xdist only")
def test_this_worker_has_its_own_databases(db):
    from django.db import connection

    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert connection.settings_dict["NAME"].endswith(f"_{worker}")
    assert settings.CELERY_BROKER_URL == os.environ["REDIS_URL"]
    assert os.environ["FACEDIAG_TEST_REDIS_WORKER"] == worker
