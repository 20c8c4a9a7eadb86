from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as accounts_views
from accounts.forms import LoginForm
from diagnosis import views as diagnosis_views

from . import views

urlpatterns = [
    path("", diagnosis_views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.web_manifest, name="web-manifest"),
    path("offline/", views.offline, name="offline"),
    path("offline/upload/", diagnosis_views.offline_upload, name="offline-upload"),
    path("offline/logout/", views.offline_logout, name="offline-logout"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
         name="login"),
    path("logout/", accounts_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("", include("diagnosis.urls")),
    path("review/", include("review.urls")),
    path("reminders/", include("reminders.urls")),
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),  # Django's, saved on the profile
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "facediag_site.middleware.server_error"
