from django.urls import path

from . import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("start/", views.queue_start, name="queue-start"),
    path("scans/<uuid:scan_id>/", views.review_page, name="review-scan"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data.json", views.dashboard_data, name="dashboard-data"),
    path("dashboard/confusion.png", views.dashboard_confusion_png, name="dashboard-confusion"),
    path("dashboard/timeline.png", views.dashboard_timeline_png, name="dashboard-timeline"),
    path("dashboard/versions.png", views.dashboard_versions_png, name="dashboard-versions"),
    path("dashboard/drift.png", views.dashboard_drift_png, name="dashboard-drift"),
]
