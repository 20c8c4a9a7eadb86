from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .errors import api_not_found

app_name = "api"

SCAN = "v1/scans/<str:scan_id>/"  # any string: a malformed id is a JSON 404, not a routing miss

urlpatterns = [
    path("v1/auth/register/", views.RegisterView.as_view(), name="register"),
    path("v1/auth/token/", views.TokenView.as_view(), name="token"),
    path("v1/auth/token/refresh/", views.TokenRefresh.as_view(), name="token-refresh"),
    path("v1/auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("v1/scans/", views.ScanListCreateView.as_view(), name="scan-list"),
    path(SCAN, views.ScanDetailView.as_view(), name="scan-detail"),
    path(SCAN + "retry/", views.ScanRetryView.as_view(), name="scan-retry"),
    path(SCAN + "image/", views.ScanImageView.as_view(), name="scan-image"),
    path(SCAN + "thumbnail/", views.ScanThumbnailView.as_view(), name="scan-thumbnail"),
    path(SCAN + "heatmap/", views.ScanHeatmapView.as_view(), name="scan-heatmap"),
    path(SCAN + "photos/<str:view>/<str:kind>/", views.ScanPhotoMediaView.as_view(), name="scan-photo-media"),
    path("v1/history/summary/", views.HistorySummaryView.as_view(), name="history-summary"),
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/me/export/", views.ExportView.as_view(), name="me-export"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file: the site's CSP allows no inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", api_not_found, name="not-found"),
]
