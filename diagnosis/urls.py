from django.urls import path

from . import views

app_name = "diagnosis"

urlpatterns = [
    path("scans/new/", views.upload, name="upload"),
    path("scans/", views.history, name="history"),
    path("scans/chart-data/", views.history_chart_data, name="chart-data"),
    path("scans/compare/", views.compare, name="compare"),
    path("scans/report.pdf", views.report, name="report"),
    path("scans/<uuid:scan_id>/", views.scan_detail, name="scan-detail"),
    path("scans/<uuid:scan_id>/status/", views.scan_status, name="scan-status"),
    path("scans/<uuid:scan_id>/note/", views.scan_note, name="scan-note"),
    path("scans/<uuid:scan_id>/retry/", views.scan_retry, name="scan-retry"),
    path("scans/<uuid:scan_id>/delete/", views.scan_delete, name="scan-delete"),
    path("media/scans/<uuid:scan_id>/<str:kind>.jpg", views.scan_media, name="scan-media"),
    path("media/scans/<uuid:scan_id>/<str:view>/<str:kind>.jpg", views.scan_media, name="scan-photo-media"),
    path("account/export/", views.data_export, name="data-export"),
]
