import io
import json
import zipfile

import pytest
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from tests.support import media_files

pytestmark = pytest.mark.django_db(transaction=True)  # file deletion runs on commit


def test_deleting_a_scan_removes_its_files(user_client, user, isolated_media):
    scan = ScanFactory(owner=user)
    keep = ScanFactory(owner=user)
    assert len(media_files(isolated_media)) == 4
    response = user_client.post(reverse("diagnosis:scan-delete", args=[scan.id]))
    assert response.status_code == 302
    assert list(Scan.objects.all()) == [keep]
    assert {p.name for p in media_files(isolated_media)} == {
        keep.first_photo.image.name.split("/")[-1],
        keep.first_photo.thumbnail.name.split("/")[-1],
    }


def test_data_export_has_json_and_images(user_client, user, other_user):
    mine = ScanFactory(owner=user, note="left cheek")
    ScanFactory(owner=other_user)
    response = user_client.get(reverse("diagnosis:data-export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "alice@example.com"
    assert [s["id"] for s in data["scans"]] == [str(mine.id)]
    assert data["scans"][0]["note"] == "left cheek"
    assert archive.read(f"images/{mine.id}-front.jpg")[:2] == b"\xff\xd8"
    assert len(archive.namelist()) == 2  # nothing of Bob's


def test_account_deletion_needs_the_password_and_removes_everything(
    client, user, other_user, isolated_media, django_user_model
):
    ScanFactory(owner=user)
    bobs = ScanFactory(owner=other_user)
    client.force_login(user)
    response = client.post(reverse("account-delete"), {"password": "wrong"})
    assert response.status_code == 200 and django_user_model.objects.filter(pk=user.pk).exists()
    response = client.post(reverse("account-delete"), {"password": "correct horse battery"})
    assert response.status_code == 302
    assert not django_user_model.objects.filter(pk=user.pk).exists()
    assert list(Scan.objects.all()) == [bobs]
    assert len(media_files(isolated_media)) == 2  # only Bob's photo and thumbnail remain
    assert "_auth_user_id" not in client.session


def test_account_deletion_on_the_web_revokes_api_tokens(client, user):
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = str(RefreshToken.for_user(user))
    client.force_login(user)
    client.post(reverse("account-delete"), {"password": "correct horse battery"})
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, content_type="application/json")
    assert response.status_code == 401


def test_a_model_result_stored_while_the_scan_is_deleted_does_not_fail_the_deletion(user, isolated_media):
    """Found by the suite (api/tests/test_flow.py, 2026-12-07): a worker stored a model's result on a scan after the
    deletion had removed what refers to the scan, and the deletion failed at its commit (a 500). Here the result is
    stored from another connection at exactly that moment: after the scan's results and photos are deleted, before
    the scan's own row is."""
    import dataclasses
    import threading

    from django.db import connection
    from django.db.models.signals import post_delete

    from diagnosis import services
    from diagnosis.models import ScanPhoto
    from diagnosis.tests.factories import prediction
    from ml.tests.factories import ModelVersionFactory
    from review.models import ModelResult
    from review.services import record_model_results

    scan = ScanFactory(owner=user)
    version = ModelVersionFactory()
    result = dataclasses.replace(prediction("acne"), model_version=version.name)
    stored = []

    def store_from_a_worker():
        try:
            stored.append(record_model_results([(scan.id, result)], kind=ModelResult.Kind.SHADOW))
        finally:
            connection.close()

    def meanwhile(sender, instance, **_kwargs):  # the photo's row is gone; the scan's is next
        if instance.scan_id == scan.pk and not threads:
            worker = threading.Thread(target=store_from_a_worker)
            worker.start()
            worker.join(timeout=2)
            waited.append(worker.is_alive())  # the result's commit waited for the deletion's
            threads.append(worker)

    threads, waited = [], []
    post_delete.connect(meanwhile, sender=ScanPhoto, weak=False)
    try:
        services.delete_scan(scan)
    finally:
        post_delete.disconnect(meanwhile, sender=ScanPhoto)
        for worker in threads:
            worker.join(timeout=30)
    assert not Scan.objects.filter(pk=scan.pk).exists()
    assert waited == [True]
    assert stored == [0] and not ModelResult.objects.exists()  # the late result found the scan gone
