"""Several scans through one batched forward pass, in-process with a real (tiny) VGG16 model."""

import pytest

from diagnosis import services
from diagnosis.models import CONDITIONS, Scan
from diagnosis.tests.factories import make_scan
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db


def new_scan(user, seed=0):
    return make_scan(user, photo=face_like_jpeg(seed=seed))  # a different photo per seed


def test_a_batch_stores_each_result_like_a_single_run(user, active_model):
    scans = [new_scan(user, seed) for seed in range(3)]
    alone = new_scan(user, 0)  # same photo as scans[0], analysed on its own
    assert services.analyse_scan(alone.id, task_id="alone") == "done"

    outcomes = services.analyse_scans([(s.id, f"t{i}") for i, s in enumerate(scans)])

    assert outcomes == ["done", "done", "done"]
    alone.refresh_from_db()
    for scan in scans:
        scan.refresh_from_db()
        assert scan.status == Scan.Status.DONE and scan.attempts == 1 and scan.claim_token is None
        # a heatmap only for a condition (none for uncertain / no skin), and then it is stored
        assert bool(scan.first_photo.heatmap) == (scan.label in CONDITIONS)
        assert not scan.first_photo.heatmap or scan.first_photo.heatmap.storage.exists(scan.first_photo.heatmap.name)
    assert scans[0].label == alone.label
    for condition, p in alone.probabilities.items():
        assert scans[0].probabilities[condition] == pytest.approx(p, abs=1e-4)
    maps = [s.first_photo.heatmap.name for s in scans if s.first_photo.heatmap]
    assert len(set(maps)) == len(maps)


def test_one_unreadable_photo_fails_alone_and_the_rest_of_the_batch_completes(user, active_model):
    good, bad, good2 = new_scan(user, 1), new_scan(user, 2), new_scan(user, 3)
    with bad.first_photo.image.storage.open(bad.first_photo.image.name, "wb") as fh:
        fh.write(b"no longer a jpeg")

    outcomes = services.analyse_scans([(good.id, "a"), (bad.id, "b"), (good2.id, "c")])

    assert outcomes == ["done", "failed", "done"]
    bad.refresh_from_db()
    assert bad.status == Scan.Status.FAILED and "could not be analysed" in bad.error


def test_a_missing_photo_and_a_done_scan_in_a_batch(user, active_model):
    done, missing, fresh = new_scan(user, 1), new_scan(user, 2), new_scan(user, 3)
    services.analyse_scan(done.id)
    missing.first_photo.image.storage.delete(missing.first_photo.image.name)

    outcomes = services.analyse_scans([(done.id, "a"), (missing.id, "b"), (fresh.id, "c")])

    assert outcomes == ["skipped", "failed", "done"]
    missing.refresh_from_db()
    assert "no longer stored" in missing.error


def test_the_same_scan_twice_in_one_batch_is_analysed_once(user, active_model):
    scan = new_scan(user)
    outcomes = services.analyse_scans([(scan.id, "dup"), (scan.id, "dup")])
    assert sorted(outcomes) == ["done", "skipped"]
    scan.refresh_from_db()
    assert scan.attempts == 1


def test_transient_storage_error_releases_only_that_scan(user, active_model):
    import os

    ok, flaky = new_scan(user, 1), new_scan(user, 2)
    os.remove(flaky.first_photo.image.path)
    os.mkdir(flaky.first_photo.image.path)  # reading raises IsADirectoryError, an OSError like a flaky disk

    outcomes = services.analyse_scans([(ok.id, "a"), (flaky.id, "b")])

    assert outcomes[0] == "done"
    assert isinstance(outcomes[1], services.TransientAnalysisError)
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts, flaky.claim_token) == (Scan.Status.QUEUED, 0, None)


def test_without_a_model_the_whole_batch_stays_queued(user, db):
    from ml import runtime

    runtime.clear_cache()
    scans = [new_scan(user, seed) for seed in range(2)]
    assert services.analyse_scans([(s.id, None) for s in scans]) == ["model_unavailable"] * 2
    assert set(Scan.objects.values_list("status", "attempts")) == {(Scan.Status.QUEUED, 0)}


def test_a_malformed_message_is_dropped_without_stopping_its_batch(user, active_model):
    from celery_batches import SimpleRequest

    from diagnosis.tasks import analyse_scan

    scan = new_scan(user)

    def message(task_id, args):
        return SimpleRequest(id=task_id, name="diagnosis.tasks.analyse_scan", args=args, kwargs={},
                             delivery_info={}, hostname="test", ignore_result=True, reply_to=None,
                             correlation_id=None, request_dict={})

    results = analyse_scan([message("a", ["not-a-uuid"]), message("b", []), message("c", [str(scan.id)])])

    assert results == ["done"]
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE


def test_every_task_is_registered_under_its_own_dotted_path():
    """A task's name is where its function lives, so a reader of the queue finds the code; the analysis task's
    name is the one already queued messages carry (services publish it by ANALYSIS_TASK)."""
    from celery import current_app

    from diagnosis.services.queue import ANALYSIS_TASK

    assert ANALYSIS_TASK == "diagnosis.tasks.analyse_scan"
    ours = {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}
    assert ANALYSIS_TASK in ours and "accounts.tasks.send_account_email" in ours
    assert [name for name, task in ours.items() if name != f"{task.run.__module__}.{task.run.__name__}"] == []
