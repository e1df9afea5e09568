from django.urls import path

from clinics.views import mfa

app_name = "mfa"

urlpatterns = [
    path("setup/", mfa.mfa_setup, name="setup"),
    path("verify/", mfa.mfa_verify, name="verify"),
    path("backup-codes/", mfa.mfa_backup_codes, name="backup_codes"),
]
