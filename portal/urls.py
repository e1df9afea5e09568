from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from clinics.views.home import home
from portal.views import healthz

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.account.urls")),
    path("mfa/", include("clinics.mfa_urls")),
    path("clinic/", include("clinics.urls")),
    path("invite/", include("clinics.invitation_urls")),
    path("patients/", include("patients.urls")),
    path("counsellor/", include("messaging.urls")),
    path("m/", include("messaging.reporter_urls")),
    path("messages/", include("messaging.thread_urls")),
    path("exercises/", include("exercises.urls")),
    path("appointments/", include("appointments.urls")),
    path("documents/", include("documents.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
