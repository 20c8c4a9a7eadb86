from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import Scan


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ["thumb", "id", "owner", "status", "label", "top_probability", "model_version", "created_at"]
    list_filter = ["status", "label", "model_version", "created_at"]
    search_fields = ["id", "owner__email", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "model_version"]
    # Files show as their storage keys, never as links: a link would be a signed bucket URL that skips
    # the access-checked, audited media view.
    readonly_fields = ["thumb_large", "id", "owner", "image_key", "thumbnail_key", "heatmap_key", "probabilities",
                       "quality", "top_probability", "model_version", "attempts", "claim_token", "claimed_at",
                       "claimed_by", "created_at", "updated_at", "started_at", "completed_at", "idempotency_key"]
    exclude = ["image", "thumbnail", "heatmap"]

    @admin.display(description="Image")
    def image_key(self, scan):
        return scan.image.name or "—"

    @admin.display(description="Thumbnail")
    def thumbnail_key(self, scan):
        return scan.thumbnail.name or "—"

    @admin.display(description="Heatmap")
    def heatmap_key(self, scan):
        return scan.heatmap.name or "—"

    @admin.display(description="Photo")
    def thumb(self, scan):
        if not scan.thumbnail:
            return "—"
        url = reverse("diagnosis:scan-media", args=[scan.id, "thumbnail"])
        return format_html('<img src="{}" width="48" height="48" style="object-fit:cover" alt="">', url)

    @admin.display(description="Photo")
    def thumb_large(self, scan):
        if not scan.image:
            return "—"
        return format_html('<img src="{}" style="max-width:320px" alt="">',
                           reverse("diagnosis:scan-media", args=[scan.id, "image"]))
