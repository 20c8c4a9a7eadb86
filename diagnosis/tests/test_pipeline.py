"""The analysis pipeline: services and task, in-process, with a real (tiny) VGG16 model."""

import pytest

from diagnosis import services
from diagnosis.models import CONDITIONS, Scan
from diagnosis.services import analysis
from diagnosis.tasks import analyse_scan
from diagnosis.tests.factories import make_scan

pytestmark = pytest.mark.django_db


def test_analysis_writes_result_heatmap_and_model_version(user, active_model):
    scan = make_scan(user)
    assert services.analyse_scan(scan.id, task_id="t1") == "done"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE
    assert scan.model_version == active_model
    assert set(scan.probabilities) == {"acne", "eczema", "healthy", "rosacea"}
    assert sum(scan.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    assert scan.label in {"acne", "eczema", "healthy", "rosacea", "uncertain", "no_skin"}
    assert scan.top_probability == pytest.approx(max(scan.probabilities.values()))
    assert {"no_face", "blurry", "too_dark", "too_bright", "too_small"} <= set(scan.quality)
    assert scan.reason  # why the result is what it is
    if scan.label in CONDITIONS:  # a heatmap only for a condition, never for uncertain / no skin
        assert scan.first_photo.heatmap and scan.first_photo.heatmap.storage.exists(scan.first_photo.heatmap.name)
        x0, y0, x1, y1 = scan.first_photo.heatmap_box  # where it lies on the photo, as fractions
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    else:
        assert not scan.first_photo.heatmap and scan.first_photo.heatmap_box == []
    assert scan.attempts == 1 and scan.claim_token is None


def test_a_done_scan_is_left_alone(user, active_model):
    scan = make_scan(user)
    services.analyse_scan(scan.id)
    scan.refresh_from_db()
    heatmap, completed = scan.first_photo.heatmap.name, scan.completed_at
    assert services.analyse_scan(scan.id) == "skipped"
    scan.refresh_from_db()
    assert (scan.first_photo.heatmap.name, scan.completed_at, scan.attempts) == (heatmap, completed, 1)


def test_without_an_active_model_the_scan_stays_queued(user, db):
    from ml import runtime

    runtime.clear_cache()
    scan = make_scan(user)
    assert services.analyse_scan(scan.id) == "model_unavailable"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.QUEUED and scan.attempts == 0 and not scan.error


def test_corrupt_artifact_keeps_scans_queued(user, active_model, tmp_path, settings):
    from ml import runtime

    active_model.sha256 = "0" * 64  # the file on disk no longer matches what was registered
    active_model.save()
    runtime.clear_cache()
    scan = make_scan(user)
    assert services.analyse_scan(scan.id) == "model_unavailable"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.QUEUED


def test_unreadable_photo_fails_with_a_reason(user, active_model):
    scan = make_scan(user)
    with open(scan.first_photo.image.path, "wb") as fh:
        fh.write(b"this is no longer a jpeg")
    analyse_scan.apply(args=[str(scan.id)])
    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED
    assert "could not be analysed" in scan.error


def test_missing_photo_fails_with_a_reason(user, active_model):
    scan = make_scan(user)
    scan.first_photo.image.storage.delete(scan.first_photo.image.name)
    analyse_scan.apply(args=[str(scan.id)])
    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED and "no longer stored" in scan.error


def test_transient_storage_errors_are_retried_then_fail(user, active_model):
    import os

    scan = make_scan(user)
    os.remove(scan.first_photo.image.path)
    os.mkdir(scan.first_photo.image.path)  # reading it now raises IsADirectoryError: an OSError, like a flaky disk
    result = analyse_scan.apply(args=[str(scan.id)])
    scan.refresh_from_db()
    assert result.get() == ["failed"]  # one outcome per message of the batch
    assert scan.status == Scan.Status.FAILED
    assert "temporary problem" in scan.error
    assert scan.attempts == 0  # retries after clean releases are not counted as crashes


def test_transient_error_then_recovery_completes(user, active_model):
    import os

    scan = make_scan(user)
    data = open(scan.first_photo.image.path, "rb").read()
    os.remove(scan.first_photo.image.path)
    os.mkdir(scan.first_photo.image.path)
    with pytest.raises(services.TransientAnalysisError):
        services.analyse_scan(scan.id)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.QUEUED
    os.rmdir(scan.first_photo.image.path)
    open(scan.first_photo.image.path, "wb").write(data)
    assert services.analyse_scan(scan.id) == "done"


def test_poison_scan_fails_after_max_attempts(user, active_model, settings):
    scan = make_scan(user)
    Scan.objects.filter(id=scan.id).update(attempts=settings.SCAN_MAX_ATTEMPTS, status=Scan.Status.ANALYSING)
    assert services.analyse_scan(scan.id) == "skipped"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED and "repeatedly" in scan.error


def test_a_live_claim_by_another_task_is_respected(user, active_model):
    scan = make_scan(user)
    assert analysis.claim_scan(scan.id, "task-a") is not None
    assert analysis.claim_scan(scan.id, "task-b") is None  # a different task: skip while the claim is fresh


def test_same_task_redelivered_takes_over_and_only_one_result_is_written(user, active_model):
    scan = make_scan(user)
    first = analysis.claim_scan(scan.id, "task-a")
    second = analysis.claim_scan(scan.id, "task-a")  # redelivery after a worker died mid-task
    assert first and second and first != second
    from ml.runtime import get_predictor

    prediction = get_predictor().predict(scan.first_photo.image.read())
    assert analysis.store_result(scan, first, prediction) == "superseded"
    assert analysis.store_result(scan, second, prediction) == "done"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE and scan.attempts == 2


def test_retry_requeues_a_failed_scan(user, active_model, django_capture_on_commit_callbacks):
    scan = make_scan(user)
    services.fail_scan(scan.id, "boom")
    scan.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.retry_scan(scan)
    assert len(callbacks) == 1
    scan.refresh_from_db()
    assert scan.status == Scan.Status.QUEUED and scan.error == ""
    assert services.analyse_scan(scan.id) == "done"


def test_only_failed_scans_can_be_retried(user, db):
    scan = make_scan(user)
    with pytest.raises(services.ScanNotRetryable):
        services.retry_scan(scan)


def test_a_superseded_execution_does_not_release_the_new_claim(user, active_model):
    scan = make_scan(user)
    old = analysis.claim_scan(scan.id, "task-a")
    new = analysis.claim_scan(scan.id, "task-a")  # redelivery took over
    analysis.release_claim(scan.id, old)
    scan.refresh_from_db()
    assert (scan.status, scan.claim_token, scan.attempts) == (Scan.Status.ANALYSING, new, 2)
