from django.contrib import admin, messages

from . import services
from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Which version is active or shadow changes only through actions (the review app adds the gated
    promotion and the rollback), never by editing a checkbox, so every change is announced and audited."""

    list_display = ("name", "role", "activated_at", "created", "short_sha", "macro_f1", "artifact_path")
    list_filter = ("active", "shadow", "created")
    search_fields = ("name", "sha256", "artifact_path")
    readonly_fields = ("sha256", "created", "classes", "metrics", "active", "shadow", "activated_at")
    ordering = ("-created",)
    actions = ["run_in_shadow", "stop_shadow"]

    @admin.display(description="sha256")
    def short_sha(self, obj):
        return obj.sha256[:12]

    @admin.display(description="role")
    def role(self, obj):
        return obj.role

    @admin.display(description="held-out macro-F1")
    def macro_f1(self, obj):
        value = (obj.metrics or {}).get("heldout", {}).get("macro_f1")
        return f"{value:.3f}" if isinstance(value, (int, float)) else "-"

    @admin.action(description="Run the selected version in shadow", permissions=["change"])
    def run_in_shadow(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one version.", messages.ERROR)
            return
        version = queryset.get()
        try:
            services.set_shadow(version)
        except services.ShadowNotAllowed as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{version.name} runs in shadow.", messages.SUCCESS)

    @admin.action(description="Stop running a shadow version", permissions=["change"])
    def stop_shadow(self, request, queryset):
        services.set_shadow(None)
        self.message_user(request, "No version runs in shadow now.", messages.SUCCESS)
