from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "email_verified_at", "consent_training",
                    "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "consent_training", "groups"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "consent_training", "consent_updated_at")}),
        ("Permissions", {"fields": ("is_active", "email_verified_at", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request, obj, form, change):
        if not change and obj.email_verified_at is None:  # made by an operator, who vouches for the address
            from django.utils import timezone

            obj.email_verified_at = timezone.now()
        super().save_model(request, obj, form, change)
