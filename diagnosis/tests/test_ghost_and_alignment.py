"""Photos that compare over time (issue 32): the upload page's "ghost" (the person's last photo of each view,
faint over the live camera; the browser side is tests/test_browser_ghost.py) and the compare slider's face
alignment (diagnosis.face_alignment, the server's face detector on the stored photos, cached per photo)."""

import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from diagnosis import face_alignment, selectors
from diagnosis.models import Scan, ScanPhoto
from diagnosis.tests.factories import ScanFactory, make_multi_photo_scan
from ml.core import alignment
from tests.support import face_shot, jpeg_of

pytestmark = pytest.mark.django_db


def scan_of(owner, days_ago, photo=None, **fields):
    data = photo if photo is not None else jpeg_of(face_shot())
    made = ScanFactory(owner=owner, image=ContentFile(data, name="p.jpg"), image_width=480, image_height=600,
                       **fields)
    Scan.objects.filter(id=made.id).update(created_at=timezone.now() - timedelta(days=days_ago))
    made.refresh_from_db()
    return made


def ghosts(html):
    found = re.search(r'<script id="capture-ghosts" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1)) if found else None


# -- the ghost ---------------------------------------------------------------------------------------------

def test_the_latest_photo_of_each_view_that_still_has_its_image_and_only_the_owners(user, other_user):
    assert selectors.previous_photos(user) == {}  # a first photo: no ghost
    old = scan_of(user, 20)
    sides = make_multi_photo_scan(user, views=("left",))
    Scan.objects.filter(id=sides.id).update(created_at=timezone.now() - timedelta(days=10))
    newest = scan_of(user, 2)
    cleared = scan_of(user, 1)
    ScanPhoto.objects.filter(scan=cleared).update(image="")  # retention cleared its photo
    scan_of(other_user, 0)  # someone else's, newer than all of them
    found = selectors.previous_photos(user)
    assert {view: photo.scan_id for view, photo in found.items()} == {"front": newest.id, "left": sides.id}
    assert old.id not in {p.scan_id for p in found.values()}
    assert selectors.previous_photos(other_user)["front"].scan.owner == other_user


def test_the_upload_page_gives_the_ghosts_urls_and_nothing_for_a_first_photo(user_client, user, other_user):
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    assert ghosts(html) is None and 'id="camera-ghost"' not in html  # nothing for a first-time user
    scan_of(other_user, 0)
    assert ghosts(user_client.get(reverse("diagnosis:upload")).content.decode()) is None
    mine = make_multi_photo_scan(user, views=("right",))
    html = user_client.get(reverse("diagnosis:upload")).content.decode()
    assert ghosts(html) == {"front": f"/media/scans/{mine.id}/front/image.jpg",
                            "right": f"/media/scans/{mine.id}/right/image.jpg"}
    assert 'id="camera-ghost"' in html and 'id="camera-ghost-toggle"' in html
    # The URL serves the photo to its owner only, never kept by a browser or the service worker.
    photo = user_client.get(ghosts(html)["front"])
    assert photo.status_code == 200 and photo["Cache-Control"] == "private, no-store"


def test_the_offline_upload_page_has_no_ghost_even_for_someone_with_photos(user_client, user):
    scan_of(user, 1)
    html = user_client.get(reverse("offline-upload")).content.decode()  # kept by the service worker
    assert ghosts(html) is None and "/media/scans/" not in html and 'id="camera-ghost"' not in html


# -- the compare slider's alignment -----------------------------------------------------------------------

def alignment_of(html):
    found = re.search(r'<script id="compare-alignment" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1)) if found else None


def test_the_compare_page_lines_the_after_face_up_with_the_before_face(user_client, user):
    before = scan_of(user, 10, jpeg_of(face_shot()))
    after = scan_of(user, 1, jpeg_of(face_shot(1.2, -0.1, 0.06)))  # closer, and off to one side
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [after.id, before.id]}).content.decode()
    data = alignment_of(html)
    assert data is not None and 'id="compare-aligned"' in html
    t = alignment.Similarity(**data["transform"])
    face_before, face_after = (alignment.FaceGeometry.from_json(data[k]) for k in ("before", "after"))
    assert (face_before.width, face_before.height) == (480, 600)
    assert alignment.box_difference(face_before.box, face_after.box)[1] > 0.2
    ratio, offset = alignment.box_difference(face_before.box, t.apply_box(face_after.box))
    assert ratio == pytest.approx(1.0, abs=1e-3) and offset < 0.01
    assert 0.75 < t.scale < 0.9  # the closer face is made smaller
    # Each photo's face is kept in the cache by its storage name: found once.
    key = face_alignment.cache_key(after.first_photo.image.name)
    assert cache.get(key) == data["after"]


def test_no_alignment_without_a_face_on_both_photos(user_client, user):
    before = scan_of(user, 10)
    after = scan_of(user, 1, jpeg_of(face_shot().convert("L").point(lambda v: 128).convert("RGB")))  # grey
    html = user_client.get(reverse("diagnosis:compare"), {"scan": [after.id, before.id]}).content.decode()
    assert 'id="compare-slider"' in html and alignment_of(html) is None and 'id="compare-aligned"' not in html
    assert cache.get(face_alignment.cache_key(after.first_photo.image.name)) == {}  # "no face", kept too


@pytest.mark.django_db(transaction=True)
def test_what_was_kept_about_a_photo_goes_when_the_scan_is_deleted(user_client, user):
    from diagnosis.services import uploads

    before, after = scan_of(user, 10), scan_of(user, 1, jpeg_of(face_shot(0.9)))
    user_client.get(reverse("diagnosis:compare"), {"scan": [after.id, before.id]})
    keys = [face_alignment.cache_key(s.first_photo.image.name) for s in (before, after)]
    assert all(cache.get(k) for k in keys)
    uploads.delete_scan(after)  # its files go once the deletion commits, and the face found on them
    assert cache.get(keys[1]) is None and cache.get(keys[0])
