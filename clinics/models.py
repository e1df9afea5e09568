from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.mfa_devices import AuthenticatorDevice  # noqa: F401  (a model of this app)
from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet
from portal.crypto import StrictEncryptedCharField


class PortalUserManager(UserManager):
    """E-mail is the login: no user names."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: object):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: object):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: object):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = PortalUserManager()

    def __str__(self) -> str:
        return self.display_name or self.email


class Clinic(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    requires_patient_mfa = models.BooleanField(
        _("patients must use two-factor authentication"),
        default=True,
        help_text=_("The Dutch regulator expects two factors for access to health data."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", _("Clinic admin")
    PROFESSIONAL = "professional", _("Health professional")
    COUNSELLOR = "counsellor", _("Counsellor")


class MembershipQuerySet(ClinicQuerySet):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True, user__is_active=True)


class Membership(ClinicOwnedModel):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique_per_clinic")
        ]
        ordering = ["clinic__name"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} ({self.get_role_display()})"


def token_digest(token: str) -> str:
    """Invitation tokens are stored only as a digest: a leaked table invites nobody."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class InvitationQuerySet(ClinicQuerySet):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class InvitationBase(ClinicOwnedModel):
    """Single use, expiring; the raw token only ever travels in the link and the QR code."""

    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class StaffInvitation(InvitationBase):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="staff_invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["-created_at"]


class EncryptionCanary(models.Model):
    """One row of known plaintext: proves at start-up that the key reads the stored data."""

    value = StrictEncryptedCharField(max_length=64)

    def __str__(self) -> str:
        return "encryption canary"


# The role of an entry written for a patient's own account (linking it to a record).
PATIENT_ROLE = "patient"


class AccessAction(models.TextChoices):
    CREATE = "create", _("create")
    READ = "read", _("read")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    EXPORT = "export", _("export/print")
    SEARCH = "search", _("search")
    BREAK_GLASS = "break_glass", _("break the glass")
    LOG_ACCESS = "log_access", _("access log viewed")
    LINK = "link", _("account linked")


class AccessPart(models.TextChoices):
    """Which part of the record an entry is about (later issues add measurements, programs...)."""

    PROFILE = "profile", _("personal details")
    INVITATION = "account invitation", _("account invitation")
    NAME = "name", _("search by name")
    ACCESS_LOG = "access log", _("access log")
    MEASUREMENTS = "measurements", _("measurements")
    IMPORT = "import", _("measurement import")
    ALERTS = "alerts", _("thresholds and alerts")
    MESSAGES = "messages", _("messages with the clinic")
    PROGRAM = "exercise program", _("exercise program")
    APPOINTMENTS = "appointments", _("appointments")
    DOCUMENTS = "documents", _("documents")
    ACCOUNT = "account", _("user account")
    SECOND_FACTOR = "second factor", _("second factor (two-factor authentication)")


class AccessOutcome(models.TextChoices):
    SUCCESS = "success", _("success")
    DENIED = "denied", _("denied")


# The role of an entry written by someone acting in the admin site rather than in a clinic.
OPERATOR_ROLES = ("superuser", "operator")


class AccessLogQuerySet(ClinicQuerySet):
    """Append-only for the application: bulk changes are refused."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("The access log is append-only.")

    def delete(self):
        raise PermissionError("The access log is append-only.")


class AccessLogEntry(ClinicOwnedModel):
    """NEN 7513: who did what to whose record, when, from where. The fact, never the data.

    References are kept without database constraints so that no deletion elsewhere ever
    cascades into, or is blocked by, the log; PostgreSQL triggers refuse UPDATE and DELETE.
    `clinic` is empty only for a platform-level entry: the operator acting on an account that
    belongs to no clinic, or on a list of all clinics' rows (no clinic page shows those).
    """

    occurred_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    clinic = models.ForeignKey(
        Clinic, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    user = models.ForeignKey(
        User, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    user_label = models.CharField(max_length=254)
    role = models.CharField(max_length=20)
    on_behalf_of = models.CharField(max_length=254, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=AccessAction.choices)
    outcome = models.CharField(
        max_length=10, choices=AccessOutcome.choices, default=AccessOutcome.SUCCESS
    )
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    part = models.CharField(max_length=100, blank=True, choices=AccessPart.choices)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        indexes = [
            models.Index(fields=["clinic", "-occurred_at"], name="accesslog_clinic_time"),
            models.Index(fields=["clinic", "patient", "-occurred_at"], name="accesslog_patient"),
            models.Index(fields=["clinic", "user", "-occurred_at"], name="accesslog_user"),
        ]

    @property
    def role_label(self) -> str:
        if self.role in Role.values:
            return Role(self.role).label
        if self.role == PATIENT_ROLE:
            return _("Patient")
        return _("Operator") if self.role in OPERATOR_ROLES else self.role

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PermissionError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object):
        raise PermissionError("The access log is append-only.")


class PurgeOutcome(models.TextChoices):
    RUNNING = "running", "running"  # still running, or killed before it finished
    DONE = "done", "done"
    SKIPPED = "skipped", "skipped: another run holds the purge's lock"
    FAILED = "failed", "failed"


class PurgeRun(models.Model):
    """One run of one retention purge (clinics.retention): counts only, never the content or
    the identifier of a purged row. For operators; no clinic sees it."""

    name = models.CharField(max_length=100)
    is_dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    cutoff_at = models.DateTimeField()  # rows older than this were due
    rows_expired = models.PositiveIntegerField(default=0)  # due when the run started
    rows_purged = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    outcome = models.CharField(
        max_length=10, choices=PurgeOutcome.choices, default=PurgeOutcome.RUNNING
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"], name="purgerun_name_time")]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"
