"""The second factor: who needs it, the gate that enforces it, and the verify/enrol steps.

Invariants:
- `MFARequiredMiddleware` is the only gate. It sends every request of a session that needs a
  second factor and has not passed one to enrolment or verification, except the URL names in
  `MFA_EXEMPT_URL_NAMES` (login, logout, the MFA steps themselves, password reset, health check).
  Every login path (allauth, admin, password reset, invitation) therefore ends unverified.
- Staff (any active membership), Django staff and superusers always need it; a patient needs it
  when any clinic holding their record requires it (the default).
- After a code is accepted the session key and the CSRF token are cycled (`mfa_complete_login`).
- Only TOTP and one-time backup codes count; an e-mailed code never does. There is no
  "remember this browser" and no way for staff to switch the factor off.
- Locking trades availability for secrecy: django-otp throttles a device after each wrong code
  (exponentially), and a session is ended after MFA_MAX_CODE_FAILURES wrong codes. That stops
  guessing, but it also lets someone who knows the password keep the owner's correct code
  refused for hours. The owner is therefore told by e-mail (`mfa_guessing_notify`, once per
  burst): their password is known and must be changed, which ends the lock-out's cause.
- Backup codes are stored only as keyed digests (`backup_code_digest`); the code itself is
  shown once, to its owner, and never stored. Authenticator keys are stored encrypted
  (`clinics.mfa_devices.AuthenticatorDevice`, never django-otp's plain-hex TOTPDevice).
- Nobody else ever sees a stored secret: keys and backup codes are shown once, to their owner,
  when made. The operator can only reset a second factor (`second_factor_reset`, an admin
  action that is logged): every device goes, the person enrols again at the next sign-in and
  is told by e-mail.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from clinics.emails import send_templated_mail_in_every_language
from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import Membership

MFA_EXEMPT_URL_NAMES = frozenset(
    {
        "account_login",
        "account_logout",
        "account_inactive",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "account_confirm_email",
        "account_email_verification_sent",
        "mfa:verify",
        "mfa:setup",
        "healthz",
        "set_language",
    }
)
FAILURES_SESSION_KEY = "mfa_failures"
TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup"


def mfa_required_for(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    if Membership.objects.active().filter(user=user).exists():
        return True
    return user.patient_records.filter(clinic__requires_patient_mfa=True).exists()


def is_verified(user) -> bool:
    """Past the second factor. A user object set by login() mid-request lacks OTPMiddleware's
    `is_verified`; it has not passed the factor in this request."""
    check = getattr(user, "is_verified", None)
    return bool(check is not None and check())


def has_confirmed_totp(user) -> bool:
    return user_has_device(user, confirmed=True)


def safe_next(request: HttpRequest, default: str = "home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


class MFARequiredMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or is_verified(user):
            return None
        if request.resolver_match.view_name in MFA_EXEMPT_URL_NAMES:
            return None
        if not mfa_required_for(user):
            return None
        step = "mfa:verify" if has_confirmed_totp(user) else "mfa:setup"
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(f"{reverse(step)}?{query}" if query else reverse(step))


def totp_device_for_enrolment(user) -> AuthenticatorDevice:
    """The unconfirmed authenticator being enrolled, created on first use."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = AuthenticatorDevice.objects.create(
            user=user, name=TOTP_DEVICE_NAME, confirmed=False
        )
    return device


def match_code(user, code: str):
    """The confirmed device (TOTP or backup code) that accepts this code, or None.

    django-otp throttles each device after a failure and rejects a TOTP code already used
    (its `last_t`), so replays and rapid guessing fail here.
    """
    code = "".join(code.split())
    if not code:
        return None
    # Row locks (for_verify) make two simultaneous requests with one code take turns, so the
    # second sees the first's `last_t` and is refused.
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            token = backup_code_digest(code) if isinstance(device, StaticDevice) else code
            if device.verify_is_allowed()[0] and device.verify_token(token):
                return device
    return None


def backup_code_digest(code: str) -> str:
    """What is stored of a backup code (T43): a keyed hash, 64 bits to fit django-otp's token
    column. A dump of the table without SECRET_KEY gives no usable code; a matching entry is
    deleted when used (StaticDevice.verify_token). Rotating SECRET_KEY (fallbacks do not
    help here) voids the backup codes: people make new ones after their next TOTP sign-in."""
    normalised = "".join(code.split()).lower()
    return salted_hmac("clinics.mfa.backup-code", normalised, algorithm="sha256").hexdigest()[:16]


def mfa_record_failure(request: HttpRequest) -> bool:
    """Counts failed codes in this session; True when the session is ended for too many.

    Too many means someone holds the password: the owner is told by e-mail (once a burst)."""
    failures = request.session.get(FAILURES_SESSION_KEY, 0) + 1
    request.session[FAILURES_SESSION_KEY] = failures
    if failures >= settings.MFA_MAX_CODE_FAILURES:
        mfa_guessing_notify(request.user)
        logout(request)
        return True
    return False


def mfa_guessing_notify(user) -> bool:
    """Tell the owner that someone who knows the password is guessing codes: at most once per
    MFA_GUESSING_NOTICE_SECONDS, so a burst of sessions sends one e-mail. The mail names the
    time only, never a code. True when a mail was sent."""
    if not cache.add(f"mfa:guessing-notice:{user.pk}", True, settings.MFA_GUESSING_NOTICE_SECONDS):
        return False
    email, now = user.email, timezone.now()
    transaction.on_commit(
        lambda: send_templated_mail_in_every_language(
            template="clinics/emails/second_factor_guessed", to=email, context={"tried_at": now}
        )
    )
    return True


def mfa_complete_login(request: HttpRequest, device) -> None:
    """Mark the session verified, then give it a new key and a new CSRF token (T11)."""
    otp_login(request, device)
    request.session.pop(FAILURES_SESSION_KEY, None)
    request.session.cycle_key()
    rotate_token(request)


@transaction.atomic
def backup_codes_regenerate(user) -> list[str]:
    """Replace every backup code with new ones; returns the codes to show once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [_backup_code() for _ in range(settings.MFA_BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=backup_code_digest(c)) for c in codes]
    )
    return codes


def _backup_code() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@transaction.atomic
def totp_confirm(user, device: AuthenticatorDevice) -> list[str]:
    """Confirm the enrolled authenticator and issue the first backup codes."""
    AuthenticatorDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return backup_codes_regenerate(user)


@transaction.atomic
def second_factor_reset(*, account) -> int:
    """Delete every second-factor device of the account (authenticator and backup codes), so
    the next sign-in enrols anew; tell the person. Returns the number of devices deleted.
    Sessions verified with a deleted device are no longer verified (django-otp's middleware
    finds no device), so they meet the gate again."""
    devices = list(devices_for_user(account, confirmed=None))
    for device in devices:
        device.delete()
    email = account.email
    transaction.on_commit(
        lambda: send_templated_mail_in_every_language(
            template="clinics/emails/second_factor_reset",
            to=email,
            context={"reset_at": timezone.now()},
        )
    )
    return len(devices)
