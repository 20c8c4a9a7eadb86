import pytest
from django.test import Client
from django.urls import reverse

from review.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_review_creates_an_audit_record(reviewer_client, reviewer, make_scan):
    scan = make_scan(label="acne")
    reviewer_client.post(reverse("review:review-scan", kwargs={"scan_id": scan.id}),
                         {"label": "eczema", "comment": "the owner's name is Alice"})
    event = AuditEvent.objects.get()
    assert event.action == "review.created"
    assert event.actor == reviewer and event.actor_ref == str(reviewer.pk)
    assert event.scan_id == scan.id
    assert event.detail == {"label": "eczema", "model_label": "acne", "has_comment": True}
    assert event.created_at is not None


@pytest.mark.parametrize("kind", ["image", "heatmap"])
def test_reviewer_opening_an_image_creates_an_audit_record(reviewer_client, reviewer, make_scan, kind):
    scan = make_scan()
    response = reviewer_client.get(reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": kind}))
    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.scan_id, event.detail) == ("image.viewed", reviewer, scan.id,
                                                                         {"kind": kind, "view": "front"})


def test_thumbnails_are_not_counted_as_image_views(reviewer_client, make_scan):
    scan = make_scan()
    response = reviewer_client.get(reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "thumbnail"}))
    assert response.status_code == 200
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("status", ["queued", "analysing", "failed"])
def test_reviewers_cannot_open_media_of_scans_not_yet_reviewable(reviewer_client, user, make_scan, status):
    scan = make_scan(user, status=status)
    owner = Client()
    owner.force_login(user)
    for kind in ("image", "thumbnail", "heatmap"):
        url = reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": kind})
        assert reviewer_client.get(url).status_code == 404
        assert owner.get(url).status_code == 200  # the owner still can
    assert not AuditEvent.objects.exists()


def test_every_view_is_recorded_and_the_owner_is_not(reviewer_client, client, user, make_scan):
    scan = make_scan(user)
    url = reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "image"})
    reviewer_client.get(url)
    reviewer_client.get(url)
    client.force_login(user)
    client.get(url)
    assert AuditEvent.objects.filter(action="image.viewed").count() == 2


def test_audit_records_survive_deletion_without_personal_data(reviewer_client, reviewer, user, make_scan):
    from accounts.services import delete_account

    scan = make_scan(user)
    reviewer_client.get(reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "image"}))
    reviewer_client.post(reverse("review:review-scan", kwargs={"scan_id": scan.id}), {"label": "acne"})
    delete_account(user)
    events = list(AuditEvent.objects.all())
    assert len(events) == 2
    for event in events:
        assert event.scan_id == scan.id and event.actor == reviewer
        assert user.email not in str(event.detail)
    reviewer_pk = reviewer.pk
    reviewer.delete()
    assert set(AuditEvent.objects.values_list("actor", "actor_ref")) == {(None, str(reviewer_pk))}


def test_admin_lists_audit_records_and_reviews(client, django_user_model, reviewer_client, make_scan):
    scan = make_scan(label="acne")
    reviewer_client.post(reverse("review:review-scan", kwargs={"scan_id": scan.id}), {"label": "acne"})
    admin_user = django_user_model.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin_user)
    page = client.get(reverse("admin:review_auditevent_changelist"), {"action__exact": "review.created"})
    assert page.status_code == 200 and "dr.who@example.com" in page.content.decode()
    page = client.get(reverse("admin:review_review_changelist"), {"q": str(scan.id)})
    html = page.content.decode()
    assert page.status_code == 200
    assert reverse("diagnosis:scan-photo-media", args=[scan.id, "front", "thumbnail"]) in html


def test_correcting_a_review_in_the_admin_is_audited(client, django_user_model, reviewer, make_scan):
    from review import services
    from review.models import Review

    scan = make_scan(label="acne")
    review, _ = services.save_review(scan=scan, reviewer=reviewer, label="acne")
    admin_user = django_user_model.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    client.force_login(admin_user)
    url = reverse("admin:review_review_change", args=[review.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"label": "eczema", "comment": "second opinion"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.label, review.comment, review.reviewer) == ("eczema", "second opinion", admin_user)
    event = AuditEvent.objects.filter(action="review.updated").get()
    assert event.actor == admin_user and event.detail["previous_label"] == "acne"
    assert client.get(reverse("admin:review_review_add")).status_code == 403
