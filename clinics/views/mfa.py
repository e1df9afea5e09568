import base64

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from clinics.access import authenticated
from clinics.forms import CodeForm
from clinics.mfa import (
    backup_codes_regenerate,
    has_confirmed_totp,
    match_code,
    mfa_complete_login,
    mfa_record_failure,
    safe_next,
    totp_confirm,
    totp_device_for_enrolment,
)
from portal.http import posted_data
from portal.qr import qr_data_uri

BACKUP_CODES_SESSION_KEY = "mfa_fresh_backup_codes"


@never_cache
@authenticated
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """First login: enrol an authenticator app before anything else."""
    if has_confirmed_totp(request.user):
        return redirect("mfa:verify")
    device = totp_device_for_enrolment(request.user)
    form = CodeForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        if device.verify_token("".join(form.cleaned_data["code"].split())):
            request.session[BACKUP_CODES_SESSION_KEY] = totp_confirm(request.user, device)
            mfa_complete_login(request, device)
            return redirect(f"{reverse('mfa:backup_codes')}?next={safe_next(request)}")
        form.add_error("code", _("That code is not correct. Check the time on your phone."))
    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "clinics/mfa_setup.html",
        {
            "form": form,
            "qr_code": qr_data_uri(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": safe_next(request),
        },
    )


@never_cache
@authenticated
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():
        return redirect(safe_next(request))
    if not has_confirmed_totp(request.user):
        return redirect("mfa:setup")
    form = CodeForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        device = match_code(request.user, form.cleaned_data["code"])
        if device is not None:
            mfa_complete_login(request, device)
            return redirect(safe_next(request))
        if mfa_record_failure(request):
            messages.error(request, _("Too many wrong codes. Please sign in again."))
            return redirect("account_login")
        form.add_error("code", _("That code is not correct, or was used already."))
    return render(request, "clinics/mfa_verify.html", {"form": form, "next": safe_next(request)})


@never_cache
@authenticated
@reauthentication_required(allow_get=True)
def mfa_backup_codes(request: HttpRequest) -> HttpResponse:
    """Backup codes are shown once, when made; making new ones needs the password again."""
    codes = request.session.pop(BACKUP_CODES_SESSION_KEY, None)
    if request.method == "POST":
        codes = backup_codes_regenerate(request.user)
    return render(
        request, "clinics/mfa_backup_codes.html", {"codes": codes, "next": safe_next(request)}
    )
