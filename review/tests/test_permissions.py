import uuid

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import URLPattern, reverse

from review import urls as review_urls
from review.admin import AuditEventAdmin
from review.models import AuditEvent, AuditEventImmutable, Review

pytestmark = pytest.mark.django_db


def _review_urls(scan_id):
    for pattern in review_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = {"scan_id": scan_id} if "scan_id" in str(pattern.pattern) else {}
        yield reverse(f"review:{pattern.name}", kwargs=kwargs)


def test_non_reviewer_gets_403_or_404_from_every_review_url(client, other_user, make_scan):
    scan = make_scan()
    other_user.is_staff = True  # staff status alone is not enough
    other_user.save()
    client.force_login(other_user)
    urls = list(_review_urls(scan.id))
    assert len(urls) == len(review_urls.urlpatterns) >= 7
    for url in urls:
        assert client.get(url).status_code in (403, 404), url
        assert client.post(url, {"label": "eczema"}).status_code in (403, 404, 405), url
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()


def test_anonymous_is_sent_to_login(client, make_scan):
    scan = make_scan()
    for url in _review_urls(scan.id):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_reviewer_can_open_every_review_page(reviewer_client, make_scan, other_user):
    scan = make_scan(other_user)
    for url in _review_urls(scan.id):
        assert reviewer_client.get(url).status_code in (200, 302), url


def test_permission_granted_directly_also_works(client, other_user, make_scan):
    other_user.user_permissions.add(Permission.objects.get(codename="review_scan"))
    client.force_login(other_user)
    assert client.get(reverse("review:queue")).status_code == 200


def test_reviewer_cannot_review_own_scan(reviewer_client, reviewer, make_scan):
    own = make_scan(reviewer)
    url = reverse("review:review-scan", kwargs={"scan_id": own.id})
    assert reviewer_client.get(url).status_code == 404
    assert reviewer_client.post(url, {"label": "acne"}).status_code == 404
    assert not Review.objects.exists()


def test_unknown_or_unfinished_scan_is_404(reviewer_client, make_scan):
    queued = make_scan(status="queued")
    for scan_id in (uuid.uuid4(), queued.id):
        assert reviewer_client.get(reverse("review:review-scan", kwargs={"scan_id": scan_id})).status_code == 404


def test_nobody_can_edit_audit_records_in_admin(client, reviewer, django_user_model, make_scan, other_user):
    scan = make_scan(other_user)
    reviewer_event = AuditEvent.objects.create(action=AuditEvent.Action.IMAGE_VIEWED, scan_id=scan.id, actor=reviewer)
    admin_user = django_user_model.objects.create_superuser(email="root@example.com", password="x-long-password-1")
    reviewer.is_staff = True
    reviewer.save()
    model_admin = AuditEventAdmin(AuditEvent, site)
    for person in (reviewer, admin_user):
        request = RequestFactory().get("/")
        request.user = person
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, reviewer_event)
        assert not model_admin.has_delete_permission(request, reviewer_event)
        assert model_admin.has_view_permission(request, reviewer_event)  # reviewers and admins can read
        client.force_login(person)
        change_url = reverse("admin:review_auditevent_change", args=[reviewer_event.pk])
        assert client.get(reverse("admin:review_auditevent_changelist")).status_code == 200
        page = client.get(change_url)
        assert page.status_code == 200 and b'type="submit"' not in page.content.split(b"<main", 1)[-1]
        client.post(change_url, {"action": "review.created", "detail": "{}"})
        assert client.get(reverse("admin:review_auditevent_add")).status_code == 403
        assert client.post(reverse("admin:review_auditevent_delete", args=[reviewer_event.pk]),
                           {"post": "yes"}).status_code == 403
    reviewer_event.refresh_from_db()
    assert reviewer_event.action == AuditEvent.Action.IMAGE_VIEWED
    assert AuditEvent.objects.count() == 1


def test_audit_rows_refuse_changes_in_code():
    event = AuditEvent.objects.create(action=AuditEvent.Action.IMAGE_VIEWED)
    event.action = AuditEvent.Action.REVIEW_CREATED
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()


def test_setup_roles_is_idempotent_and_adds_reviewers(other_user):
    from django.core.management import call_command

    call_command("setup_roles")
    call_command("setup_roles", "--add-reviewer", other_user.email.upper())
    other_user.refresh_from_db()
    other_user = type(other_user).objects.get(pk=other_user.pk)  # fresh permission cache
    assert other_user.has_perm("diagnosis.review_scan")
    assert not other_user.is_staff
    assert other_user.groups.get().permissions.filter(codename="review_scan").count() == 1
