from django.urls import path

from clinics.views import access_log, profile, settings, staff, switch

app_name = "clinics"

urlpatterns = [
    path("switch/", switch.clinic_switch, name="switch"),
    path("profile/", profile.profile, name="profile"),
    path("staff/", staff.staff_list, name="staff"),
    path("staff/invite/", staff.staff_invite_view, name="staff_invite"),
    path("staff/<int:membership_id>/role/", staff.membership_role, name="membership_role"),
    path(
        "staff/<int:membership_id>/remove/", staff.membership_remove_view, name="membership_remove"
    ),
    path("settings/", settings.clinic_settings, name="settings"),
    path("access-log/", access_log.access_log, name="access_log"),
    path("access-log/export.csv", access_log.access_log_export, name="access_log_export"),
]
