"""Personal data held by clinics' models, and by the third-party models that point to the user
account (clinics owns the user model). See portal.personal_data for what a declaration says."""

import datetime

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register, register_subject

# Words shared by several declarations (one msgid each in the catalogue).
WITH_ACCOUNT = _("as long as the account exists")
EXPORTED = _("included in the GDPR export")
SECURITY_RECORD = _("not exported: a security record")
DELETED_WITH_ACCOUNT = _("deleted with the account")


# The one identifier kept in clear, on purpose: allauth finds the account by it at every sign-in
# and in every password-reset request, and mail is sent to it. Encrypted with a keyed-hash
# lookup it would still be decrypted for every mail and in every allauth form; the password
# hash and the second factor, not the secrecy of the address, protect the account.
LOGIN_EMAIL_IN_CLEAR = _(
    "the e-mail address: the login name that allauth looks up at every sign-in and password "
    "reset, and where mail is sent"
)


def register_all() -> None:
    register_subject(Subject.USER, settings.AUTH_USER_MODEL)

    register(
        settings.AUTH_USER_MODEL,
        subject=Subject.USER,
        purpose=_(
            "signing in: e-mail address, password hash, last sign-in; a name for staff only "
            "(a patient's name is on their record, encrypted)"
        ),
        retention=None,
        retention_note=_(
            "as long as the account exists; an account unused for 2 years is warned and "
            "cancelled 31 days later"
        ),
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=_("identifying and contact data are deleted when the account is cancelled"),
        in_clear=LOGIN_EMAIL_IN_CLEAR,
    )
    register(
        "clinics.Membership",
        subject=Subject.USER,
        purpose=_("who works in which clinic, in which role, since and until when"),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=DELETED_WITH_ACCOUNT,
    )
    register(
        "clinics.StaffInvitation",
        subject=Subject.USER,
        purpose=_("inviting a person to work in a clinic: e-mail address, role, token digest"),
        retention=datetime.timedelta(days=30),
        retention_note=_("30 days after the invitation expires (used or not)"),
        export=_("not exported: a short-lived invitation"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge"),
    )
    register(
        "clinics.AccessLogEntry",
        subject=Subject.PATIENT,
        purpose=_(
            "NEN 7513: who read or changed whose record, when and from where (the fact, never "
            "the data)"
        ),
        # At least 5 years (NEN 7513): 5 × 365 days plus two leap days. The database trigger
        # (clinics migration 0008) refuses to delete anything younger than 5 calendar years.
        retention=datetime.timedelta(days=5 * 365 + 2),
        retention_note=_("at least 5 years after the access (NEN 7513)"),
        export=_("shown to the patient on the record's access page; included in the GDPR export"),
        erasure=Erasure.KEEP,
        erasure_reason=_(
            "append-only: kept for its legal period even after an erasure request, then "
            "deleted by the retention purge"
        ),
    )
    register(
        "sessions.Session",
        subject=Subject.USER,
        purpose=_("keeping a signed-in user signed in"),
        retention=datetime.timedelta(0),
        retention_note=_("until the session expires (idle and absolute timeouts)"),
        export=SECURITY_RECORD,
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge once expired"),
    )
    register(
        "account.EmailAddress",
        subject=Subject.USER,
        purpose=_("the account's e-mail address and whether it was verified"),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=DELETED_WITH_ACCOUNT,
        in_clear=LOGIN_EMAIL_IN_CLEAR,
    )
    # django-otp's TOTPDevice stays installed for its migrations only: clinics/0015 moved its
    # rows (plain hex keys) into AuthenticatorDevice (keys encrypted) and nothing writes it since.
    for model, purpose in (
        ("clinics.AuthenticatorDevice", _("the second factor: an authenticator app's secret key")),
        ("otp_totp.TOTPDevice", _("the second factor: an authenticator app's secret key")),
        ("otp_static.StaticDevice", _("the second factor: one-time backup codes")),
    ):
        register(
            model,
            subject=Subject.USER,
            purpose=purpose,
            retention=None,
            retention_note=WITH_ACCOUNT,
            export=_("not exported: a secret that is never shown again (T42)"),
            erasure=Erasure.DELETE,
            erasure_reason=DELETED_WITH_ACCOUNT,
        )
    register(
        "admin.LogEntry",
        subject=Subject.USER,
        purpose=_("what an operator changed in the admin site"),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=SECURITY_RECORD,
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with the operator's account"),
    )
