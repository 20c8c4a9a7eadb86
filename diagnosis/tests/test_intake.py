"""The upload intake itself (diagnosis/services/intake.py), without a door: size, admission, acceptance and
the one refund path. The doors' answers (pages, JSON, the API envelope) are tested in test_upload.py,
test_backpressure.py, test_multi_photo.py and api/tests."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils.datastructures import MultiValueDict
from prometheus_client import REGISTRY

from diagnosis import backpressure
from diagnosis.models import IDEMPOTENCY_KEY_MAX_LENGTH, NOTE_MAX_LENGTH, Scan, ScanPhoto
from diagnosis.services import intake
from diagnosis.services.intake import UploadRejected
from diagnosis.tests.factories import ScanFactory
from tests.support import face_like_jpeg, media_files

pytestmark = pytest.mark.django_db


def photo(seed=0, data=None):
    return SimpleUploadedFile("face.jpg", face_like_jpeg(seed=seed) if data is None else data, "image/jpeg")


def refusals():
    return {s.labels["reason"]: s.value for m in REGISTRY.collect() if m.name == "facediag_uploads_refused"
            for s in m.samples if s.name.endswith("_total")}


def newly_refused(before):
    after = refusals()
    return {reason: after[reason] - before.get(reason, 0) for reason in after if after[reason] != before.get(reason, 0)}


@pytest.fixture
def quota(settings):
    """Three photos an hour; ``left()`` says how many are still free (a probe that gives its count back)."""
    from diagnosis import rate_limits

    settings.SCAN_UPLOAD_RATE = "3/hour"

    def left(user):
        free = 0
        taken = []
        while True:
            decision = rate_limits.check_upload(user)
            if not decision.allowed:
                break
            taken.append(decision)
            free += 1
        for decision in taken:
            rate_limits.refund_upload(decision)
        return free

    return left


# --- size --------------------------------------------------------------------------------------------------


def test_a_declared_body_too_large_for_three_photos_is_refused_before_reading(settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024 * 1024
    fits = RequestFactory().post("/", data=b"", content_type="multipart/form-data",
                                 CONTENT_LENGTH=str(3 * 1024 * 1024))
    intake.check_body_size(fits)
    before = refusals()
    too_large = RequestFactory().post("/", data=b"", content_type="multipart/form-data",
                                      CONTENT_LENGTH=str(3 * 1024 * 1024 + 100 * 1024))
    with pytest.raises(UploadRejected) as refused:
        intake.check_body_size(too_large)
    assert (refused.value.code, refused.value.status, refused.value.field) == ("file_too_large", 413, "image")
    assert "larger than the 1 MB limit" in refused.value.message
    assert newly_refused(before) == {"file_too_large": 1}


def test_the_web_door_is_marked_for_the_size_check_and_the_mark_survives_its_decorators():
    from diagnosis import views

    assert getattr(views.upload, "takes_scan_uploads", False) is True
    assert not getattr(views.history, "takes_scan_uploads", False)


# --- admission ---------------------------------------------------------------------------------------------


def test_admission_counts_the_first_photo(user, quota):
    admission = intake.admit(user)
    assert quota(user) == 2 and len(admission.counted) == 1


def test_busy_is_refused_before_the_quota_is_touched(settings, user, quota):
    settings.SCAN_BACKLOG_LIMIT_SECONDS, settings.SCAN_ANALYSIS_RATE = 1, 1.0
    for _ in range(3):  # three queued scans: three seconds of work waiting, over the one-second limit
        ScanFactory(status=Scan.Status.QUEUED, label="", image="", thumbnail="")
    backpressure.clear_cache()
    before = refusals()
    try:
        with pytest.raises(UploadRejected) as refused:
            intake.admit(user)
    finally:
        backpressure.clear_cache()
    assert (refused.value.code, refused.value.status) == ("busy", 503)
    assert 5 <= refused.value.retry_after <= 120 and "Try again in a minute" in refused.value.message
    assert quota(user) == 3 and newly_refused(before) == {"busy": 1}


def test_over_the_quota_is_refused_with_when_to_retry(user, quota):
    for _ in range(3):
        intake.admit(user)
    before = refusals()
    with pytest.raises(UploadRejected) as refused:
        intake.admit(user)
    assert (refused.value.code, refused.value.status) == ("quota", 429)
    assert 0 < refused.value.retry_after <= 3600 and "Try again in about" in refused.value.message
    assert newly_refused(before) == {"quota": 1}


# --- acceptance and the one refund path ----------------------------------------------------------------------


def test_an_accepted_scan_keeps_its_count_and_is_queued(user, quota):
    admission = intake.admit(user)
    scan, created = intake.accept(admission, front=photo(), extra_photos={"left": photo(1), "right": None},
                                  note="after the holidays", idempotency_key="  phone-1  ")
    assert created and scan.status == Scan.Status.QUEUED and scan.note == "after the holidays"
    assert scan.idempotency_key == "phone-1"  # spaces around a key do not count
    assert list(ScanPhoto.objects.filter(scan=scan).values_list("view", flat=True)) == ["front", "left"]
    assert quota(user) == 1  # front and left


def test_a_replay_returns_the_first_scan_and_counts_nothing(user, quota):
    first, _ = intake.accept(intake.admit(user), front=photo(), idempotency_key="phone-1")
    again, created = intake.accept(intake.admit(user), front=photo(2), idempotency_key="phone-1")
    assert again.id == first.id and not created
    assert quota(user) == 2 and Scan.objects.count() == 1


def test_a_bad_photo_gives_back_every_photo_counted_and_stores_nothing(user, quota, isolated_media):
    admission = intake.admit(user)
    before = refusals()
    with pytest.raises(UploadRejected) as refused:
        intake.accept(admission, front=photo(), extra_photos={"right": photo(data=b"GIF89a not a photo")})
    assert refused.value.field == "image_right" and refused.value.message.startswith("Right side photo:")
    assert quota(user) == 3 and not Scan.objects.exists() and media_files(isolated_media) == []
    assert sum(newly_refused(before).values()) == 1


def test_side_photos_over_the_quota_refuse_the_whole_scan(user, quota):
    intake.accept(intake.admit(user), front=photo())
    admission = intake.admit(user)  # the second photo of the hour
    with pytest.raises(UploadRejected) as refused:
        intake.accept(admission, front=photo(1), extra_photos={"left": photo(2), "right": photo(3)})
    assert (refused.value.code, refused.value.status) == ("quota", 429) and refused.value.retry_after
    assert quota(user) == 2 and Scan.objects.count() == 1  # the refused scan's front photo was given back


def test_a_door_refusal_goes_through_the_same_refund_once(user, quota):
    admission = intake.admit(user)
    before = refusals()
    admission.refuse("invalid")
    admission.refuse("invalid")  # a second refusal of the same upload neither refunds nor counts again
    assert quota(user) == 3 and newly_refused(before) == {"invalid": 1}


@pytest.mark.parametrize("key", ["k" * (IDEMPOTENCY_KEY_MAX_LENGTH + 1), " " + "k" * (IDEMPOTENCY_KEY_MAX_LENGTH + 1)])
def test_an_idempotency_key_over_its_limit_is_refused_never_cut(user, quota, key):
    with pytest.raises(UploadRejected) as refused:
        intake.accept(intake.admit(user), front=photo(), idempotency_key=key)
    assert (refused.value.code, refused.value.status, refused.value.field) == ("invalid", 400, "Idempotency-Key")
    assert quota(user) == 3 and not Scan.objects.exists()
    with pytest.raises(UploadRejected):
        intake.create_scan(owner=user, uploaded_file=photo(), idempotency_key=key)  # the same rule underneath
    assert intake.idempotency_key_of(" " + "k" * IDEMPOTENCY_KEY_MAX_LENGTH + " ") == "k" * IDEMPOTENCY_KEY_MAX_LENGTH


def test_a_note_over_its_limit_is_refused(user, quota):
    intake.check_note("n" * NOTE_MAX_LENGTH)
    with pytest.raises(UploadRejected) as refused:
        intake.accept(intake.admit(user), front=photo(), note="n" * (NOTE_MAX_LENGTH + 1))
    assert (refused.value.code, refused.value.field) == ("invalid", "note")
    assert "2,000 characters at most" in refused.value.message
    assert quota(user) == 3 and not Scan.objects.exists()


@pytest.mark.parametrize(("files", "code", "words"), [
    ({"image": [1], "image_left": [2], "image_right": [3], "image_top": [4]}, "too_many_photos", "at most 3"),
    ({"image": [1], "photo": [2]}, "invalid", "“photo” is not a photo field"),
    ({"image": [1], "image_left": [2, 3]}, "invalid", "one photo per field"),
])
def test_parts_that_do_not_fit_a_scan_are_refused_and_refunded(user, quota, files, code, words):
    admission = intake.admit(user)
    with pytest.raises(UploadRejected) as refused:
        intake.check_parts(admission, MultiValueDict(files))
    assert refused.value.code == code and words in refused.value.message
    assert quota(user) == 3
    intake.check_photo_parts(MultiValueDict({"image": [1], "image_left": [2], "image_right": [3]}))  # a full scan
