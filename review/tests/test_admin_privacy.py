"""The Django admin for scans (findings 6 and 13): read-only, no empty scans, the owner's e-mail and note
hidden from staff reviewers, media through the audited view, thumbnails not flooding the audit log,
note views audited."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from diagnosis.models import Scan
from review.models import AuditEvent

pytestmark = pytest.mark.django_db

NOTE = "private: my sister's wedding on Saturday"


@pytest.fixture
def staff_reviewer(reviewer):
    reviewer.is_staff = True  # what `setup_roles --staff` does
    reviewer.save()
    client = Client()
    client.force_login(reviewer)
    return client


@pytest.fixture
def superuser_client(django_user_model):
    root = django_user_model.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client = Client()
    client.force_login(root)
    client.user = root
    return client


@pytest.fixture
def noted_scan(make_scan, user):
    scan = make_scan(user)
    Scan.objects.filter(pk=scan.pk).update(note=NOTE)
    scan.refresh_from_db()
    return scan


def test_staff_reviewers_see_neither_the_owners_email_nor_the_note(staff_reviewer, noted_scan, user):
    listing = staff_reviewer.get(reverse("admin:diagnosis_scan_changelist"))
    detail = staff_reviewer.get(reverse("admin:diagnosis_scan_change", args=[noted_scan.pk]))
    assert listing.status_code == detail.status_code == 200
    for page in (listing, detail):
        html = page.content.decode()
        assert user.email not in html and "sister" not in html
    assert f"user #{user.pk}" in listing.content.decode()
    # ... and cannot find scans by the note's words or the owner's e-mail either
    for query in ("wedding", user.email):
        found = staff_reviewer.get(reverse("admin:diagnosis_scan_changelist"), {"q": query}).content.decode()
        assert str(noted_scan.pk) not in found
    assert not AuditEvent.objects.filter(action="note.viewed").exists()


def test_a_superuser_opening_a_note_is_audited(superuser_client, noted_scan):
    detail = superuser_client.get(reverse("admin:diagnosis_scan_change", args=[noted_scan.pk])).content.decode()
    assert "sister" in detail
    event = AuditEvent.objects.get(action="note.viewed")
    assert event.actor == superuser_client.user and event.scan_id == noted_scan.pk
    assert "sister" not in str(event.detail)


def test_model_outputs_cannot_be_edited_and_scans_cannot_be_added(superuser_client, make_scan):
    scan = make_scan(label="acne")
    url = reverse("admin:diagnosis_scan_change", args=[scan.pk])
    assert 'name="label"' not in superuser_client.get(url).content.decode()
    superuser_client.post(url, {"label": "eczema", "status": "failed", "probabilities": "{}"})
    scan.refresh_from_db()
    assert (scan.label, scan.status) == ("acne", "done")
    assert superuser_client.get(reverse("admin:diagnosis_scan_add")).status_code == 403
    listing = superuser_client.get(reverse("admin:diagnosis_scan_changelist")).content.decode()
    assert reverse("admin:diagnosis_scan_add") not in listing


def test_admin_media_links_open_through_the_audited_view(superuser_client, make_scan):
    scan = make_scan()
    html = superuser_client.get(reverse("admin:diagnosis_scan_change", args=[scan.pk])).content.decode()
    assert "/private-media/" not in html
    links = [reverse("diagnosis:scan-photo-media", args=[scan.id, "front", kind]) for kind in ("image", "heatmap")]
    for link in links:
        assert link in html
        assert superuser_client.get(link).status_code == 200
    assert AuditEvent.objects.filter(action="image.viewed").count() == 2


def test_the_admin_scan_list_writes_no_audit_rows_for_its_thumbnails(staff_reviewer, make_scan, other_user):
    for _ in range(14):
        make_scan(other_user)
    html = staff_reviewer.get(reverse("admin:diagnosis_scan_changelist")).content.decode()
    thumbnails = re.findall(r'<img src="(/media/scans/[^"]+/thumbnail\.jpg)"', html)
    assert len(thumbnails) == 14
    for src in thumbnails:
        assert staff_reviewer.get(src).status_code == 200
    assert not AuditEvent.objects.exists()
