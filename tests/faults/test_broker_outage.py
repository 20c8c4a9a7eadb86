"""Redis down while a user uploads: the upload is kept, shows queued, and completes once Redis is back."""

import kombu.pools
import pytest
import redis
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnosis.models import Scan
from facediag_site import health
from tests.faults.infra import RedisServer
from tests.support import face_like_jpeg, wait_for_status
from tests.worker import WorkerProcess, flush_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def point_celery_at(url):
    """Make this process publish to another broker; kombu's global pools must be dropped too."""
    if current_app._pool is not None:
        current_app._pool.force_close_all()
    current_app._pool = None
    current_app.amqp._producer_pool = None
    kombu.pools.reset()
    current_app.conf.broker_url = url


@pytest.fixture
def own_redis(settings):
    server = RedisServer().start()
    original = current_app.conf.broker_url
    point_celery_at(server.url)
    yield server
    server.stop()
    point_celery_at(original)


def test_upload_during_outage_is_kept_and_completes_after_recovery(client, user, active_model, own_redis, tmp_path):
    worker = WorkerProcess(
        tmp_path / "worker.log", beat=True, REDIS_URL=own_redis.url,
        SCAN_STUCK_AFTER_SECONDS=3, SCAN_SWEEP_INTERVAL_SECONDS=1,
    )
    try:
        worker.wait_ready()
        own_redis.stop()  # the broker goes away

        client.force_login(user)
        response = client.post(reverse("diagnosis:upload"), {"image": SimpleUploadedFile("f.jpg", face_like_jpeg())})
        assert response.status_code == 302  # accepted and stored anyway
        scan = Scan.objects.get()
        assert scan.status == "queued" and scan.image.storage.exists(scan.image.name)
        health.clear_pause_cache()
        status = client.get(reverse("diagnosis:scan-status", args=[scan.id])).json()
        assert status["status"] == "queued"
        assert (status["analysis"]["state"], status["analysis"]["reason"]) == ("paused", "broker_unreachable")
        assert "your photo is kept" in status["analysis"]["detail"].lower()
        probe = client.get(reverse("healthz"))
        assert probe.status_code == 503 and probe.json()["down"] == ["broker"]

        own_redis.start()  # back on the same port; the sweeper in beat re-queues the stuck scan
        scan = wait_for_status(scan.id, {"done", "failed"}, timeout=150)
        assert scan.status == "done", worker.log()[-3000:]
        health.clear_pause_cache()
        assert client.get(reverse("healthz")).status_code == 200
    finally:
        worker.stop()


def test_sweeper_command_requeues_stuck_scans(user, active_model, settings):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from diagnosis.tests.factories import ScanFactory

    stuck = ScanFactory(owner=user, status=Scan.Status.QUEUED, label="")
    fresh = ScanFactory(owner=user, status=Scan.Status.QUEUED, label="")
    Scan.objects.filter(id=stuck.id).update(updated_at=timezone.now() - timedelta(hours=1))
    flush_broker()
    call_command("requeue_stuck_scans")
    queued = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("celery", 0, -1)
    assert len(queued) == 1 and str(stuck.id).encode() in queued[0]  # only the stuck one
    assert Scan.objects.get(id=fresh.id).status == "queued"
