from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

# Not namespaced: Django's auth views and e-mails reverse these names as they are.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup-done"),
    path("confirm/<uidb64>/<token>/", views.confirm_email, name="confirm-email"),
    # Welcome e-mails sent before addresses were confirmed had one-click sign-in links here: they now land
    # on the "this link no longer works, log in" page instead of a 404 (they expired within days anyway).
    path("signin/<uidb64>/<token>/", views.confirm_email, name="sign-in-link"),
    path("profile/", views.profile, name="profile"),
    path("delete/", views.account_delete, name="account-delete"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.ConfirmingPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
