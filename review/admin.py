from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import AuditEvent, Review


def _thumbnail(scan):
    if not scan.thumbnail:
        return "-"
    # Served by the access-checked (and audited) media view; never a public media URL.
    url = reverse("diagnosis:scan-media", kwargs={"scan_id": scan.id, "kind": "thumbnail"})
    return format_html('<img src="{}" alt="" width="64" height="64">', url)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "scan_link", "label", "model_label", "agrees", "reviewer", "created_at", "updated_at")
    list_filter = ("label", "model_label", "scan__model_version", "created_at")
    search_fields = ("=scan__id", "reviewer__email", "comment")
    list_select_related = ("scan", "reviewer")
    date_hierarchy = "created_at"
    fields = ("thumbnail", "scan", "model_label", "label", "comment", "reviewer", "created_at", "updated_at")
    readonly_fields = ("thumbnail", "scan", "model_label", "reviewer", "created_at", "updated_at")
    ordering = ("-created_at",)

    @admin.display(description="photo")
    def thumbnail(self, obj):
        return _thumbnail(obj.scan)

    @admin.display(description="scan", ordering="scan__created_at")
    def scan_link(self, obj):
        url = reverse("review:review-scan", kwargs={"scan_id": obj.scan_id})
        return format_html('<a href="{}">{}</a>', url, str(obj.scan_id)[:8])

    @admin.display(boolean=True, description="agrees")
    def agrees(self, obj):
        return obj.agrees

    def has_add_permission(self, request):
        return False  # reviews are made from the review page

    def has_delete_permission(self, request, obj=None):
        return False  # a review goes with its scan; a wrong one is corrected by a re-review

    def save_model(self, request, obj, form, change):
        # Corrections made here go through the same service, so they are audited like any other.
        services.save_review(
            scan=obj.scan, reviewer=request.user, label=form.cleaned_data["label"],
            comment=form.cleaned_data.get("comment", ""),
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included."""

    list_display = ("created_at", "action", "actor_display", "scan_id", "detail")
    list_filter = ("action", "created_at")
    search_fields = ("=scan_id", "actor__email", "=actor_ref")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = ("created_at", "action", "actor", "actor_ref", "scan_id", "detail")
    readonly_fields = fields
    actions = None

    @admin.display(description="actor", ordering="actor_ref")
    def actor_display(self, obj):
        if obj.actor is not None:
            return obj.actor.email
        return f"deleted user #{obj.actor_ref}" if obj.actor_ref else "system"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
