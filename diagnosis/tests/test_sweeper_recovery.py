"""The sweeper publishes at once what a broker outage kept from the queue (finding L2 of round three): a scan
whose message could not be published, and every waiting scan when the broker came back empty. Real Redis."""

import pytest
import redis
from django.conf import settings

from accounts import tasks as account_tasks
from diagnosis import services
from diagnosis.models import Scan
from diagnosis.services.queue import BROKER_SENTINEL_KEY
from diagnosis.tests.factories import ScanFactory
from tests.faults.test_broker_outage import point_celery_at
from tests.worker import flush_broker

pytestmark = pytest.mark.django_db


def queued_messages():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("celery", 0, -1)


@pytest.fixture
def queued_scan(user):
    return ScanFactory(owner=user, status=Scan.Status.QUEUED, label="")


def test_a_scan_whose_message_could_not_be_published_is_published_by_the_next_sweep(queued_scan):
    from tests.faults.infra import free_port

    original = settings.CELERY_BROKER_URL
    point_celery_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        assert services.enqueue_analysis(queued_scan.id) is False
    finally:
        point_celery_at(original)
    queued_scan.refresh_from_db()
    assert queued_scan.publish_failed
    flush_broker()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).set(BROKER_SENTINEL_KEY, "1")  # the broker kept its queue
    assert services.requeue_stuck_scans() == (1, 1)  # at once, not SCAN_STUCK_AFTER_SECONDS later
    assert [str(queued_scan.id).encode() in m for m in queued_messages()] == [True]
    queued_scan.refresh_from_db()
    assert not queued_scan.publish_failed
    assert services.requeue_stuck_scans() == (0, 0)  # once


def test_when_the_broker_came_back_empty_every_waiting_scan_is_queued_again(queued_scan, user):
    done = ScanFactory(owner=user)
    flush_broker()  # as Redis restarted without persistence: queue and sentinel gone
    assert services.requeue_stuck_scans() == (1, 1)
    assert len(queued_messages()) == 1 and str(queued_scan.id).encode() in queued_messages()[0]
    assert str(done.id).encode() not in b"".join(queued_messages())
    assert services.requeue_stuck_scans() == (0, 0)  # the broker still holds its queue: nothing to redo


def test_a_dead_workers_messages_come_back_before_anything_live_waits_that_long():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] <= 60 < 300  # was 300 s
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10
    assert settings.CELERY_BEAT_SCHEDULE["requeue-stuck-scans"]["schedule"] <= 15
    # A retry's countdown keeps its message unacknowledged that long: it must stay below the timeout.
    from diagnosis.tasks import MAX_TRANSIENT_RETRIES

    assert max(account_tasks.RETRY_DELAYS) < options["visibility_timeout"]
    assert 2 ** (MAX_TRANSIENT_RETRIES - 1) < options["visibility_timeout"]
