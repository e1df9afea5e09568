"""The operator's admin pages of clinics' models.

Invariants (T42, NEN 7513):
- Every admin page of an account, a clinic or the access log is logged through the admin's door,
  `OperatorLoggedAdmin`: a list is one platform-level entry (a search is a search), an object's
  page, change, deletion or action one entry per clinic the object belongs to
  (`clinics.access_log.account_places`).
- The operator never sets or sees a password or a second-factor secret; they can only reset a
  second factor (`reset_second_factor`), which is logged and tells the person.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinics.access_log import Place, access_log_record_operator, account_places
from clinics.mfa import second_factor_reset
from clinics.models import AccessAction, AccessLogEntry, AccessPart, Clinic, Membership, User


class OperatorLoggedAdmin(admin.ModelAdmin):
    """The admin's access-log door: every list, object page, change, deletion and history of the
    model is logged, once per request (actions log through `log_operator`)."""

    access_log_part: str = ""
    access_log_read = AccessAction.READ
    access_log_search = AccessAction.SEARCH

    def access_log_places(self, obj: models.Model) -> list[Place]:
        raise NotImplementedError

    def log_operator(
        self, request: HttpRequest, action: AccessAction, obj: models.Model | None, part: str = ""
    ) -> None:
        access_log_record_operator(
            request=request,
            action=action,
            places=self.access_log_places(obj) if obj is not None else [(None, None)],
            obj=obj,
            part=part or self.access_log_part,
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if request.method == "GET":
            searched = bool(request.GET.get("q"))
            action = self.access_log_search if searched else self.access_log_read
            self.log_operator(request, action, None)
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and request.method == "GET":
            self.log_operator(request, self.access_log_read, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            self.log_operator(request, self.access_log_read, obj)
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.log_operator(request, AccessAction.UPDATE if change else AccessAction.CREATE, obj)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        self.log_operator(request, AccessAction.DELETE, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.log_operator(request, AccessAction.DELETE, obj)
        super().delete_queryset(request, queryset)


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
class UserAdmin(OperatorLoggedAdmin, BaseUserAdmin):
    """No password field and no password page: an operator who could set a password could sign
    in as a professional (T42). A person resets their own password by e-mail."""

    access_log_part = AccessPart.ACCOUNT
    actions = ["reset_second_factor"]
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
    # A plain multiple select: Django's filter widget labels a role-less <span> with aria-label,
    # which assistive technology ignores (axe-core: aria-prohibited-attr, serious).
    filter_horizontal = ()

    def get_urls(self) -> list:
        return [url for url in super().get_urls() if url.name != "auth_user_password_change"]

    def access_log_places(self, obj: User) -> list[Place]:
        return account_places(obj)

    @admin.action(description=_("Reset the second factor (enrol again at the next sign-in)"))
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        for account in queryset:
            self.log_operator(request, AccessAction.UPDATE, account, AccessPart.SECOND_FACTOR)
            second_factor_reset(account=account)
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "The second factor of %(count)d account was reset; its owner was told by e-mail.",
                "The second factors of %(count)d accounts were reset; their owners were told by "
                "e-mail.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "is_active"]
    raw_id_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(OperatorLoggedAdmin):
    """The clinic's page lists its people's memberships: logged like an account's."""

    access_log_part = AccessPart.ACCOUNT
    list_display = ["name", "requires_patient_mfa", "created_at"]
    inlines = [MembershipInline]

    def access_log_places(self, obj: Clinic) -> list[Place]:
        return [(obj.pk, None)]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(OperatorLoggedAdmin):
    """Read-only: the access log is append-only, for the operator too. Reading it is logged."""

    access_log_part = AccessPart.ACCESS_LOG
    access_log_read = AccessAction.LOG_ACCESS
    access_log_search = AccessAction.LOG_ACCESS

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

    def access_log_places(self, obj: AccessLogEntry) -> list[Place]:
        return [(obj.clinic_id, obj.patient_id)]
