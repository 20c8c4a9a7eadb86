from django.contrib import admin

from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "created", "short_sha", "macro_f1", "artifact_path")
    list_filter = ("active", "created")
    search_fields = ("name", "sha256", "artifact_path")
    readonly_fields = ("sha256", "created", "classes", "metrics")
    ordering = ("-created",)

    @admin.display(description="sha256")
    def short_sha(self, obj):
        return obj.sha256[:12]

    @admin.display(description="held-out macro-F1")
    def macro_f1(self, obj):
        value = (obj.metrics or {}).get("heldout", {}).get("macro_f1")
        return f"{value:.3f}" if isinstance(value, (int, float)) else "-"
