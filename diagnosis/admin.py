from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.urls import reverse
from django.utils.html import format_html

from .models import Scan
from .signals import note_viewed_in_admin

# Shown to everyone with access; all read-only: scans come from uploads, results from the model.
PUBLIC_FIELDS = ["photo", "id", "owner_ref", "status", "label", "top_probability", "probabilities", "quality",
                 "error", "model_version", "attempts", "created_at", "updated_at",
                 "started_at", "completed_at", "image_deleted_at"]
PRIVATE_FIELDS = ["owner", "note"]  # superusers only: reviewers never see who uploaded a scan or their note


def _media_url(photo, kind):
    return reverse("diagnosis:scan-photo-media", args=[photo.scan_id, photo.view, kind])


def _reviewable(scan):
    return scan.status == Scan.Status.DONE  # media of other people's scans open only once they are done


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    """Read-only. Staff who are not superusers (reviewers) see neither the owner's e-mail nor the note,
    as on the review pages. Photos open through the access-checked media view, which audits images and
    heatmaps (thumbnails are not counted as views); a superuser opening a scan with a note is audited."""

    list_filter = ["status", "label", "model_version", "created_at"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "model_version"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("photos")  # one query for every row's photos

    @staticmethod
    def _sees_private_fields(request):
        return request.user.is_superuser

    def get_list_display(self, request):
        owner = "owner" if self._sees_private_fields(request) else "owner_ref"
        return ["thumb", "id", owner, "status", "label", "top_probability", "model_version", "created_at"]

    def get_search_fields(self, request):
        return ["=id", "owner__email", "note"] if self._sees_private_fields(request) else ["=id"]

    def get_fields(self, request, obj=None):
        return PUBLIC_FIELDS + (PRIVATE_FIELDS if self._sees_private_fields(request) else [])

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False  # a scan is an upload: made by its owner, never an empty row

    def has_change_permission(self, request, obj=None):
        return False  # labels, statuses and probabilities are the model's output

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and self._sees_private_fields(request):
            scan = self.get_object(request, unquote(object_id))
            if scan is not None and scan.note:
                note_viewed_in_admin.send(sender=Scan, scan=scan, user=request.user)
        return response

    @admin.display(description="Owner")
    def owner_ref(self, scan):
        return f"user #{scan.owner_id}"

    @admin.display(description="Photo")
    def thumb(self, scan):
        first = scan.first_photo
        if first is None or not first.thumbnail or not _reviewable(scan):
            return "—"
        return format_html('<img src="{}" width="48" height="48" style="object-fit:cover" alt="">',
                           _media_url(first, "thumbnail"))

    @admin.display(description="Photo")
    def photo(self, scan):
        photos = [p for p in scan.photos.all() if p.image]
        if not photos:
            return "—"
        if not _reviewable(scan):
            return "Not viewable until the analysis is done."
        links = []
        for photo in photos:  # every photo of the scan, and its heatmap where it has one
            links.append(format_html('<a href="{}" target="_blank" rel="noopener">{} photo</a>',
                                     _media_url(photo, "image"), photo.view))
            if photo.heatmap:
                links.append(format_html('<a href="{}" target="_blank" rel="noopener">{} heatmap</a>',
                                         _media_url(photo, "heatmap"), photo.view))
        first = photos[0]
        preview = format_html('<img src="{}" width="128" height="128" style="object-fit:cover" alt="">',
                              _media_url(first, "thumbnail")) if first.thumbnail else ""
        return format_html("{}<br>Open (recorded in the audit log): {}", preview,
                           format_html(" · ".join(["{}"] * len(links)), *links))
