"""The operator's admin site: staff only, after the second factor, signed in through allauth.

P1/P2 (SECURITY.md): Django's own admin login would skip allauth's rate limits and the MFA step,
so `login` sends everyone to the portal's login page and `has_permission` demands a verified
session on top of is_staff.

T42: no admin page shows a stored second-factor secret. django-otp's plugins register admins
that show TOTP keys (hex, the `config` and `qrcode` pages) and backup codes; `register` refuses
those registrations (named by label: this module imports no app), whichever app registers first.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Models whose third-party admin shows a stored secret: never registered.
# clinics.authenticatordevice (the encrypted TOTP key) has no admin either: named here so that
# nobody can register one by accident.
SECRET_HOLDING_MODELS = frozenset(
    {
        "clinics.authenticatordevice",
        "otp_totp.totpdevice",
        "otp_static.staticdevice",
        "otp_static.statictoken",
    }
)


class PortalAdminSite(admin.AdminSite):
    site_header = "Clinic portal administration"

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        models = (
            model_or_iterable
            if isinstance(model_or_iterable, list | tuple)
            else [model_or_iterable]
        )
        kept = [m for m in models if m._meta.label_lower not in SECRET_HOLDING_MODELS]
        if kept:
            super().register(kept, admin_class, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            # Signed in but no operator: the portal login would send them straight back here.
            raise PermissionDenied
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
