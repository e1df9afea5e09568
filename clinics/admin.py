from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from clinics.models import AccessLogEntry, Clinic, Membership, User


class OperatorUserCreationForm(forms.ModelForm):
    """A new account gets no password the operator knows: its owner sets one through the
    password-reset e-mail (allauth), then enrols their own second factor."""

    class Meta:
        model = User
        fields = ["email"]

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.email = user.email.lower()
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """No password field and no password page: an operator who could set a password could sign
    in as a professional (T42). A person resets their own password by e-mail."""

    add_form = OperatorUserCreationForm
    ordering = ["email"]
    list_display = ["email", "display_name", "is_active", "is_staff", "is_superuser", "last_login"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email",)}),
        (_("Profile"), {"fields": ("display_name",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email",)}),)
    readonly_fields = ["last_login", "date_joined"]

    def get_urls(self) -> list:
        return [url for url in super().get_urls() if url.name != "auth_user_password_change"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "is_active"]
    raw_id_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "requires_patient_mfa", "created_at"]
    inlines = [MembershipInline]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the access log is append-only, for the operator too."""

    list_display = [
        "occurred_at",
        "clinic_id",
        "user_label",
        "role",
        "action",
        "outcome",
        "patient_id",
        "object_type",
        "object_id",
    ]
    list_filter = ["action", "outcome"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}
