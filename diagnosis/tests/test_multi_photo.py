"""Scans of several photos (front, left, right) on the web side: upload, analysis with the real tiny model,
result and review pages, media access, deletion, retention, export and the PDF report."""

import io
import json
import logging
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diagnosis import services
from diagnosis.models import CONDITIONS, Scan, ScanPhoto
from diagnosis.selectors import scan_photos
from diagnosis.tests.factories import jpeg_upload, make_multi_photo_scan, photos_read_as
from ml.core.combine import combine
from tests.support import face_like_jpeg, image_bytes, jpeg_with_exif_orientation, media_files, png_bomb_header

pytestmark = pytest.mark.django_db


def photo_results(scan):
    """Each photo's own result of a finished scan, in PHOTO_VIEWS order, as the API writes it."""
    return [photo.result for photo in scan_photos(scan) if photo.result is not None]


def photo(data=None, name="face.jpg"):
    return SimpleUploadedFile(name, face_like_jpeg() if data is None else data, "image/jpeg")


def post_photos(client, **files):
    return client.post(reverse("diagnosis:upload"), {"note": "", **files})


def photo_media(scan, view, kind="image"):
    return reverse("diagnosis:scan-photo-media", args=[scan.id, view, kind])


# --- upload -----------------------------------------------------------------------------------

def test_the_upload_page_offers_the_two_side_photos(user_client):
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    assert 'name="image_left"' in html and 'name="image_right"' in html
    assert html.count('type="file"') >= 3


def test_three_photos_make_one_scan_each_photo_cleaned_and_stored(
    user_client, user, isolated_media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_photos(user_client, image=photo(), image_left=photo(jpeg_with_exif_orientation(6)),
                               image_right=photo(image_bytes("PNG"), name="right.png"))
    scan = Scan.objects.get()
    assert response.status_code == 302 and response.url == reverse("diagnosis:scan-detail", args=[scan.id])
    assert len(callbacks) == 1  # one analysis for the whole scan
    left, right = scan.photos.get(view="left"), scan.photos.get(view="right")
    stored_left = Image.open(left.image.path)
    assert stored_left.format == "JPEG" and stored_left.size == (200, 300)  # EXIF orientation applied...
    assert not stored_left.getexif()  # ...and every tag (GPS included) dropped, as for the front photo
    assert Image.open(right.image.path).format == "JPEG"  # judged by content, re-encoded
    assert (left.image_width, left.image_height) == (200, 300)
    assert len(media_files(isolated_media)) == 6  # three photos and three thumbnails


@pytest.mark.parametrize(("field", "data", "status", "words"), [
    ("image_left", image_bytes("JPEG", size=(640, 480))[:900], 400, "damaged"),
    ("image_right", png_bomb_header(), 413, "too many pixels"),
    ("image_left", b"%PDF-1.4 not an image", 415, "not a photo"),
])
def test_one_bad_photo_refuses_the_whole_upload_and_names_it(user_client, isolated_media, field, data, status,
                                                             words):
    response = post_photos(user_client, image=photo(), **{field: photo(data)})
    assert response.status_code == status
    html = response.content.decode()
    side = "Left side" if field == "image_left" else "Right side"
    assert words in html and f"{side} photo:" in html
    assert not Scan.objects.exists() and not ScanPhoto.objects.exists()
    assert media_files(isolated_media) == []  # the good photos were not kept either


def test_each_photo_is_held_to_the_size_limit_on_its_own(user_client, settings, isolated_media):
    settings.SCAN_MAX_UPLOAD_BYTES = 200_000
    near_limit = image_bytes("PNG", size=(400, 400), color=None) + b"\0" * 150_000  # 3 x 150 KB > one limit
    response = post_photos(user_client, image=photo(near_limit, "a.png"), image_left=photo(near_limit, "b.png"),
                           image_right=photo(near_limit, "c.png"))
    assert response.status_code == 302 and ScanPhoto.objects.count() == 3
    over = near_limit + b"\0" * 60_000
    response = post_photos(user_client, image=photo(near_limit, "a.png"), image_left=photo(over, "b.png"))
    assert response.status_code == 413 and "Left side photo: The file is larger" in response.content.decode()
    assert Scan.objects.count() == 1


def test_the_body_limit_holds_as_many_photos_as_a_scan():
    from diagnosis.models import MAX_PHOTOS_PER_SCAN
    from facediag_site.lib.uploads import PHOTOS_PER_UPLOAD

    assert PHOTOS_PER_UPLOAD == MAX_PHOTOS_PER_SCAN == 3


def test_a_body_too_large_for_three_photos_is_refused_before_reading(user_client, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024 * 1024
    response = user_client.post(reverse("diagnosis:upload"), data=b"x" * 10, content_type="multipart/form-data",
                                CONTENT_LENGTH=str(3 * 1024 * 1024 + 100 * 1024))
    assert response.status_code == 413 and not Scan.objects.exists()


def test_each_photo_counts_against_the_upload_limit(user_client, settings):
    settings.SCAN_UPLOAD_RATE = "4/hour"
    assert post_photos(user_client, image=photo(), image_left=photo(), image_right=photo()).status_code == 302
    assert post_photos(user_client, image=photo()).status_code == 302  # 4 photos so far
    response = post_photos(user_client, image=photo(), image_left=photo())
    assert response.status_code == 429 and response["Retry-After"]
    assert Scan.objects.count() == 2


def test_a_repeated_photo_field_is_refused(user_client):
    response = user_client.post(reverse("diagnosis:upload"), {"image": photo(), "image_left": [photo(), photo()]})
    assert response.status_code == 400 and "one photo per field" in response.content.decode()
    assert not Scan.objects.exists()


def test_the_upload_service_refuses_an_unknown_side(user):
    with pytest.raises(ValueError):
        services.create_scan(owner=user, uploaded_file=jpeg_upload(), extra_photos={"top": jpeg_upload()})


def test_a_retried_idempotency_key_stores_no_second_set_of_photos(user, isolated_media):
    first = make_multi_photo_scan(user, idempotency_key="phone-1")
    again, created = services.create_scan(owner=user, uploaded_file=jpeg_upload(), idempotency_key="phone-1",
                                          extra_photos={"left": jpeg_upload()})
    assert again.id == first.id and not created
    assert len(media_files(isolated_media)) == 6


# --- analysis (in-process, the real tiny model) -----------------------------------------------

def scan_of(user, front, **sides):
    """A scan of these photos (bytes) by side, through the upload service."""
    scan, _ = services.create_scan(owner=user, uploaded_file=jpeg_upload(front),
                                   extra_photos={side: jpeg_upload(data) for side, data in sides.items()})
    return scan


def skin(tiny_dataset, label, n=0):
    """A photo the tiny model reads as ``label`` (the ``n``-th such)."""
    return photos_read_as(tiny_dataset, label, n + 1)[n]


def stored_photos(scan):
    return [p.image.read() for p in scan.photos.all()]


def test_the_photos_of_a_scan_are_analysed_in_one_batch_and_combined(user, active_model, tiny_dataset, caplog):
    # front and right show acne; the left one is a picture with no skin, which the model refuses
    scan = scan_of(user, skin(tiny_dataset, "acne", 0), left=photos_read_as(tiny_dataset, "no_skin")[0],
                   right=skin(tiny_dataset, "acne", 1))
    from ml.runtime import get_predictor

    predictor = get_predictor()
    alone = [predictor.predict(data) for data in stored_photos(scan)]
    assert [p.label for p in alone] == ["acne", "no_skin", "acne"]
    with caplog.at_level(logging.INFO, logger="diagnosis.services.analysis"):
        assert services.analyse_scan(scan.id) == "done"
    assert "1 scan(s) in one batch (3 photos)" in caplog.text

    scan.refresh_from_db()
    expected = combine(alone, predictor.thresholds)
    assert (scan.label, scan.reason) == ("acne", "confident") == (expected.label, expected.reason)
    for condition in CONDITIONS:  # the mean of the two acne photos only
        mean = (alone[0].probabilities[condition] + alone[2].probabilities[condition]) / 2
        assert scan.probabilities[condition] == pytest.approx(mean, abs=1e-4)
    assert [(r["view"], r["label"], r["counted"]) for r in photo_results(scan)] == [
        ("front", "acne", True), ("left", "no_skin", False), ("right", "acne", True)]
    assert photo_results(scan)[1]["reason"] == alone[1].reason
    # a heatmap, placed on its photo, for each photo that got a class; none for the refused one
    left, right = scan.photos.get(view="left"), scan.photos.get(view="right")
    assert scan.first_photo.heatmap and right.heatmap and not left.heatmap
    assert len(right.heatmap_box) == 4 and left.heatmap_box == []
    assert right.heatmap.storage.exists(right.heatmap.name) and right.heatmap.name != scan.first_photo.heatmap.name


def test_photos_that_disagree_leave_the_scan_uncertain_without_heatmaps(user, active_model, tiny_dataset):
    scan = scan_of(user, skin(tiny_dataset, "acne"), left=skin(tiny_dataset, "rosacea"))
    assert services.analyse_scan(scan.id) == "done"
    scan.refresh_from_db()
    assert (scan.label, scan.reason) == ("uncertain", "photos_disagree")
    assert [r["label"] for r in photo_results(scan)] == ["acne", "rosacea"]
    assert not any(p.heatmap for p in scan.photos.all())  # no map without a class, as for one photo


@pytest.mark.parametrize("batch_size", [16, 2])  # 2: the six photos go through the network two at a time
def test_a_batch_of_several_scans_keeps_each_scans_photos_apart(user, active_model, tiny_dataset, settings,
                                                               batch_size):
    settings.SCAN_BATCH_SIZE = batch_size
    first = scan_of(user, skin(tiny_dataset, "acne"), right=skin(tiny_dataset, "acne", 1))
    second = scan_of(user, skin(tiny_dataset, "eczema"))
    third = scan_of(user, skin(tiny_dataset, "healthy"), left=skin(tiny_dataset, "healthy", 1),
                    right=skin(tiny_dataset, "healthy", 2))
    assert services.analyse_scans([(s.id, f"t{i}") for i, s in enumerate((first, second, third))]) == ["done"] * 3
    for scan, label, photos in ((first, "acne", 2), (second, "eczema", 1), (third, "healthy", 3)):
        scan.refresh_from_db()
        assert scan.label == label and len(photo_results(scan)) == photos


def test_a_one_photo_scan_keeps_its_photos_own_result(user, active_model):
    scan, _ = services.create_scan(owner=user, uploaded_file=jpeg_upload())
    from ml.runtime import get_predictor

    prediction = get_predictor().predict(scan.first_photo.image.read())
    assert services.analyse_scan(scan.id) == "done"
    scan.refresh_from_db()
    assert (scan.label, scan.reason) == (prediction.label, prediction.reason)
    assert scan.quality == {k: bool(v) for k, v in prediction.quality.items()}
    assert scan.top_probability == pytest.approx(prediction.top_probability, abs=1e-4)
    assert len(photo_results(scan)) == 1 and photo_results(scan)[0]["view"] == "front"


def test_a_missing_side_photo_fails_the_scan_with_a_reason(user, active_model):
    scan = make_multi_photo_scan(user, views=("right",))
    right = scan.photos.get(view="right")
    right.image.storage.delete(right.image.name)
    assert services.analyse_scan(scan.id) == "failed"
    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED and "no longer stored" in scan.error


def test_a_superseded_execution_leaves_no_heatmaps_behind(user, active_model, tiny_dataset, isolated_media):
    from diagnosis.services import analysis
    from ml.runtime import get_predictor

    scan = scan_of(user, skin(tiny_dataset, "acne"), left=skin(tiny_dataset, "acne", 1),
                   right=skin(tiny_dataset, "acne", 2))
    first = analysis.claim_scan(scan.id, "task-a")
    second = analysis.claim_scan(scan.id, "task-a")
    predictor = get_predictor()
    predictions = predictor.predict_many(stored_photos(scan), batch_size=3, with_heatmap=True)
    before = set(media_files(isolated_media))
    assert analysis.store_result(scan, first, predictions, thresholds=predictor.thresholds) == "superseded"
    assert set(media_files(isolated_media)) == before  # its three heatmaps were deleted again
    assert analysis.store_result(scan, second, predictions, thresholds=predictor.thresholds) == "done"
    assert len(media_files(isolated_media)) == len(before) + 3
    with pytest.raises(ValueError):  # three photos need three predictions
        analysis.store_result(scan, second, predictions[:2])


# --- pages ------------------------------------------------------------------------------------

def test_the_result_page_shows_what_each_photo_showed(user_client, user):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, label="acne",
                                 photo_labels=["acne", "no_skin", "acne"])
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    section = html[html.index('id="photo-set"'):]
    assert "3 photos" in section
    assert section.index("Front") < section.index("Left side") < section.index("Right side")
    assert section.count("Counted in the result.") == 2
    assert "Not counted: This does not look like a photo of a face or skin." in section
    assert section.count("70%") == 2  # the photos with a class show their confidence; the other none
    assert photo_media(scan, "left", "thumbnail") in section


def test_history_and_compare_show_multi_photo_scans_by_their_combined_result(user_client, user):
    before = make_multi_photo_scan(user, status=Scan.Status.DONE, label="acne")
    after = make_multi_photo_scan(user, status=Scan.Status.DONE, label="acne", views=("left",))
    history = user_client.get(reverse("diagnosis:history"))
    assert history.status_code == 200
    assert reverse("diagnosis:scan-detail", args=[before.id]) in history.content.decode()
    chart = user_client.get(reverse("diagnosis:chart-data")).json()
    assert [p["scan_id"] for p in chart["points"]] == [str(before.id), str(after.id)]
    compare = user_client.get(reverse("diagnosis:compare") + f"?scan={before.id}&scan={after.id}")
    assert compare.status_code == 200 and "Likely acne" in compare.content.decode()


def test_a_one_photo_scan_page_has_no_photo_list(user_client, user):
    scan, _ = services.create_scan(owner=user, uploaded_file=jpeg_upload())
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert 'id="photo-set"' not in html


def test_the_result_names_the_photo_that_could_not_be_used_and_its_problem(user_client, user):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, label="acne", photo_labels=["acne", "uncertain",
                                                                                           "uncertain"])
    scan.photos.filter(view="left").update(reason="blurry", counted=False)
    scan.photos.filter(view="right").update(reason="too_dark", counted=False)
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    problems = html[html.index('id="photo-problems"'):html.index('id="photo-set"')]
    assert "The left photo is blurry." in problems and "The right photo is too dark." in problems
    assert "front photo" not in problems  # the counted photo is not a problem
    spanish = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id]), HTTP_ACCEPT_LANGUAGE="es")
    assert "La foto izquierda está borrosa." in spanish.content.decode()


def test_a_disagreement_is_explained_in_words(user_client, user):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, label="uncertain",
                                 photo_labels=["acne", "rosacea", "acne"])
    Scan.objects.filter(id=scan.id).update(reason="photos_disagree")
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    assert "The photos do not agree" in html


def test_reviewers_see_every_photo_of_a_finished_scan_and_their_views_are_audited(client, user, other_user):
    from review.models import AuditEvent
    from review.services import ensure_reviewer_group

    group, _ = ensure_reviewer_group()
    other_user.groups.add(group)
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE)
    client.force_login(other_user)
    html = client.get(reverse("review:review-scan", args=[scan.id])).content.decode()
    for view in ("front", "left", "right"):
        assert photo_media(scan, view, "thumbnail") in html
    response = client.get(photo_media(scan, "left"))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.get(action="image.viewed").detail == {"kind": "image", "view": "left"}


# --- media access -----------------------------------------------------------------------------

def test_the_owner_gets_each_photo_and_others_get_404(client, user, other_user):
    scan = make_multi_photo_scan(user, views=("left",))
    client.force_login(user)
    for view in ("front", "left"):
        response = client.get(photo_media(scan, view))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(photo_media(scan, "right")).status_code == 404  # no right photo in this scan
    assert client.get(photo_media(scan, "top")).status_code == 404
    assert client.get(photo_media(scan, "left", "secret")).status_code == 404
    client.force_login(other_user)
    for view in ("front", "left"):
        assert client.get(photo_media(scan, view)).status_code == 404


def test_reviewers_cannot_open_side_photos_before_the_scan_is_done(client, user, other_user):
    from review.services import ensure_reviewer_group

    group, _ = ensure_reviewer_group()
    other_user.groups.add(group)
    scan = make_multi_photo_scan(user)
    client.force_login(other_user)
    assert client.get(photo_media(scan, "left")).status_code == 404


# --- deletion, retention, export, report ------------------------------------------------------

@pytest.mark.django_db(transaction=True)  # file deletion runs on commit
def test_deleting_a_scan_deletes_all_its_photos(user_client, user, isolated_media):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE)
    keep = make_multi_photo_scan(user, views=("left",))
    assert len(media_files(isolated_media)) == 10
    response = user_client.post(reverse("diagnosis:scan-delete", args=[scan.id]))
    assert response.status_code == 302
    assert list(Scan.objects.all()) == [keep] and ScanPhoto.objects.count() == 2
    assert {p.name for p in media_files(isolated_media)} == {
        f.name.split("/")[-1] for p in keep.photos.all() for f in (p.image, p.thumbnail)
    }


def test_retention_deletes_every_photo_and_keeps_the_results(user, settings, isolated_media):
    from datetime import timedelta

    from django.utils import timezone

    scan = make_multi_photo_scan(user, status=Scan.Status.DONE)
    Scan.objects.filter(id=scan.id).update(created_at=timezone.now() - timedelta(days=40))
    assert services.purge_expired_images(days=30) == 1
    assert media_files(isolated_media) == []
    scan.refresh_from_db()
    assert not scan.first_photo.image and len(photo_results(scan)) == 3
    assert all(not p.image and not p.thumbnail for p in scan.photos.all())


def test_the_data_export_has_every_photo_and_what_it_showed(user_client, user):
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, views=("right",))
    response = user_client.get(reverse("diagnosis:data-export"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    entry = data["scans"][0]
    assert entry["image_file"] == f"images/{scan.id}-front.jpg"  # the first photo's, as every photo named
    assert [(p["view"], p["image_file"]) for p in entry["photos"]] == [
        ("front", f"images/{scan.id}-front.jpg"), ("right", f"images/{scan.id}-right.jpg")]
    assert entry["photos"][1]["result"]["label"] == "acne"
    assert archive.read(f"images/{scan.id}-right.jpg")[:2] == b"\xff\xd8"


def test_the_report_lists_what_each_photo_showed(user_client, user):
    from pypdf import PdfReader

    make_multi_photo_scan(user, status=Scan.Status.DONE, photo_labels=["acne", "no_skin", "acne"])
    response = user_client.get(reverse("diagnosis:report"))
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Front: Likely acne 70%" in text and "Right side: Likely acne 70%" in text
    assert "Left side" in text and "not counted" in text
    assert sum(len(page.images) for page in reader.pages) >= 3  # the side photos are in it too


def test_the_photo_list_and_a_side_photos_rejection_in_spanish(user_client, user):
    user_client.post(reverse("set_language"), {"language": "es"})
    response = post_photos(user_client, image=photo(), image_right=photo(image_bytes("JPEG", size=(640, 480))[:900]))
    assert response.status_code == 400
    assert "Foto «Lado derecho»: La imagen está dañada" in response.content.decode()
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE, photo_labels=["acne", "no_skin", "acne"])
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    for text in ("3 fotos", "De frente", "Lado izquierdo", "Cuenta en el resultado.", "No cuenta:"):
        assert text in html, text


def test_the_admin_links_every_photo_through_the_audited_view(client, user, django_user_model):
    from review.models import AuditEvent

    root = django_user_model.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(root)
    scan = make_multi_photo_scan(user, status=Scan.Status.DONE)
    html = client.get(reverse("admin:diagnosis_scan_change", args=[scan.pk])).content.decode()
    for view in ("front", "left", "right"):
        assert photo_media(scan, view) in html
        assert client.get(photo_media(scan, view)).status_code == 200
    assert sorted((e.detail["view"], e.detail["kind"]) for e in AuditEvent.objects.filter(action="image.viewed")) == [
        ("front", "image"), ("left", "image"), ("right", "image")]
