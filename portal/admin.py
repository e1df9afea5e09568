"""The operator's admin site: staff only, after the second factor, signed in through allauth.

P1/P2 (SECURITY.md): Django's own admin login would skip allauth's rate limits and the MFA step,
so `login` sends everyone to the portal's login page and `has_permission` demands a verified
session on top of is_staff.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class PortalAdminSite(admin.AdminSite):
    site_header = "Clinic portal administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            # Signed in but no operator: the portal login would send them straight back here.
            raise PermissionDenied
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
