from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from ml.admin import ModelVersionAdmin
from ml.models import ModelVersion

from . import services
from .measures import format_comparison
from .models import AuditEvent, Review


def _thumbnail(scan):
    first = scan.first_photo
    if first is None or not first.thumbnail:
        return "-"
    # Served by the access-checked (and audited) media view; never a public media URL.
    url = reverse("diagnosis:scan-photo-media", kwargs={"scan_id": scan.id, "view": first.view, "kind": "thumbnail"})
    return format_html('<img src="{}" alt="" width="64" height="64">', url)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "scan_link", "label", "model_label", "agrees", "reviewer", "created_at", "updated_at")
    list_filter = ("label", "model_label", "scan__model_version", "created_at")
    search_fields = ("=scan__id", "reviewer__email", "comment")
    list_select_related = ("scan", "reviewer")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scan__photos")
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
    search_fields = ("=scan_id", "actor__email", "=actor_ref", "actor_name")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = ("created_at", "action", "actor", "actor_ref", "actor_name", "scan_id", "detail")
    readonly_fields = fields
    actions = None

    @admin.display(description="actor", ordering="actor_ref")
    def actor_display(self, obj):
        if obj.actor is not None:
            return obj.actor.email
        if obj.actor_ref:
            return f"deleted user #{obj.actor_ref}"
        return f"{obj.actor_name} (command line)" if obj.actor_name else "system"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GatedModelVersionAdmin(ModelVersionAdmin):
    """ml's admin for model versions, plus the promotion through the gate and the rollback (they read
    reviews, which ml must not know about)."""

    actions = [*ModelVersionAdmin.actions, "promote_through_gate", "roll_back"]

    @admin.action(description="Promote the selected version (only if the gate passes on reviewed scans)",
                  permissions=["change"])
    def promote_through_gate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one version.", messages.ERROR)
            return
        version = queryset.get()
        try:
            outcome = services.promote_model(version, actor=request.user)
        except services.PromotionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        table = format_comparison(outcome.comparison, outcome.version, outcome.previous)
        if outcome.accepted:
            self.message_user(request, format_html("The version {} is active now (it passed the gate).<pre>{}</pre>",
                                                   outcome.version, table), messages.SUCCESS)
        else:
            self.message_user(request, format_html(
                "Promotion of {} refused; the active version stays. To override, run "
                "<code>manage.py promote_model {} --force --reason \"…\"</code>.<pre>{}</pre>",
                outcome.version, outcome.version, table), messages.ERROR)

    @admin.action(description="Roll back to the version active before the current one", permissions=["change"])
    def roll_back(self, request, queryset):
        try:
            now_active, replaced = services.rollback_model(actor=request.user, reason="admin action")
        except services.RollbackImpossible as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{now_active.name} is active again (it replaced "
                                   f"{replaced.name if replaced else 'no version'}).", messages.SUCCESS)


admin.site.unregister(ModelVersion)
admin.site.register(ModelVersion, GatedModelVersionAdmin)
