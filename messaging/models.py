"""The rows of the two end-to-end encrypted channels: the confidential counsellor chat (a
reporter and an organisation's counsellors, 31 days) and clinic messages (a patient record's
thread with its clinic's team, 2 years). The server keeps only what docs/chat-protocol.md lets
it see: public keys, key ids, sealed private keys it cannot open, ciphertext, wraps, signatures
and timestamps. No body, nickname, file name or profile is ever stored in any readable form.

Both channels store one message format (`SealedMessage`, `SealedWrap`): the same columns, the
same checks (messaging.sealed) and the same browser code open them. Each channel has tables
of its own: their periods differ, and a professional's query can never reach a reporter's row.

Every row that carries someone's words has an `expires_at` set from the database clock when it
is written; every read filters it (`ChatQuerySet.live`), so an expired row is invisible before
the purge deletes it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from clinics.models import Membership, Role
from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet

KEY_ID_LENGTH = 32  # hex digits: 128 bits of SHA-256 (docs/chat-protocol.md, "Keys")
PUBLIC_KEY_BYTES = 65  # an uncompressed P-256 point


class Purpose(models.TextChoices):
    """What a clinic certifies a staff key set for (the certificate's signed text names it)."""

    COUNSELLOR = "counsellor", _("Counsellor chat")
    TEAM = "team", _("Clinic messages")


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ThreadStatus(models.TextChoices):
    OPEN = "open", _("Open")
    HANDLED = "handled", _("Handled")


class MessageKind(models.TextChoices):
    """Also the `kind` in the message's associated data, so a note cannot pass as a message."""

    BODY = "body", _("Message")
    NOTE = "note", _("Internal note")


class ChatQuerySet(ClinicQuerySet):
    def live(self) -> ChatQuerySet:
        """Rows whose period has not ended, by the database's clock (E2EE.md check 9)."""
        return self.filter(expires_at__gt=Now())


class ClinicChatKey(ClinicOwnedModel):
    """The clinic's signing key: it certifies staff key sets and nothing else. Its private half
    is stored sealed under the clinic key passphrase and under a recovery key, which only the
    clinic's admins hold."""

    key_id = models.CharField(max_length=KEY_ID_LENGTH, unique=True)
    sig_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    sealed_private = models.JSONField()  # {"passphrase": {...}, "recovery": {...}}
    created_at = models.DateTimeField(db_default=Now())
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic"], name="one_chat_key_per_clinic"),
        ]

    def __str__(self) -> str:
        return str(self.key_id)


class ChatKey(models.Model):
    """A person's key set (one per account, whichever clinics they work in, as staff or as a
    patient). The private keys are sealed under the chat passphrase and under the printed
    recovery key. A staff key set is trusted by others once its clinic certified it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_key"
    )
    key_id = models.CharField(max_length=KEY_ID_LENGTH, unique=True)
    kem_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    sig_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    sealed_private = models.JSONField()  # {"passphrase": {...}, "recovery": {...}}
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return str(self.key_id)


class RetiredChatKey(models.Model):
    """The public half of a key set its holder replaced (lost passphrase and recovery key), kept
    so that the messages it signed can still be checked by their readers: a patient's older
    messages stay verifiable for the clinic's team. Nothing private is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retired_chat_keys"
    )
    key_id = models.CharField(max_length=KEY_ID_LENGTH, unique=True)
    kem_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    sig_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    retired_at = models.DateTimeField(db_default=Now(), db_index=True)

    def __str__(self) -> str:
        return str(self.key_id)


# Who may hold a certificate for each purpose: the roles whose members read that channel.
PURPOSE_ROLES = {
    Purpose.COUNSELLOR: (Role.COUNSELLOR,),
    Purpose.TEAM: (Role.PROFESSIONAL, Role.CLINIC_ADMIN),
}

# The purpose a certificate gets is decided by the holder's role in this clinic, never by what
# the browser posts: a counsellor's key is certified for the counsellor chat, a professional's
# or an admin's for clinic messages (models.PURPOSE_ROLES).
ROLE_PURPOSE = {role: purpose for purpose, roles in PURPOSE_ROLES.items() for role in roles}


class CertificateQuerySet(ClinicQuerySet):
    def valid(self) -> CertificateQuerySet:
        return self.filter(revoked_at__isnull=True)

    def current(self, purpose: Purpose) -> CertificateQuerySet:
        """The certificates that let a key read and write the purpose's channel now: not
        revoked, and its holder still works in the clinic in a role of that channel (someone
        who left gets no new wraps even before an admin revokes the certificate)."""
        member = Membership.objects.active().filter(
            clinic=models.OuterRef("clinic"),
            user=models.OuterRef("staff_key__user"),
            role__in=PURPOSE_ROLES[purpose],
        )
        return self.valid().filter(models.Exists(member), purpose=purpose)

    def counsellors(self) -> CertificateQuerySet:
        return self.current(Purpose.COUNSELLOR)

    def team(self) -> CertificateQuerySet:
        """Clinic messages: the certified keys of the clinic's professionals and admins."""
        return self.current(Purpose.TEAM)


class Certificate(ClinicOwnedModel):
    """The clinic key's signature over a staff key set's id for a purpose. Revoked: no longer
    listed to clients, so the key set gets no new wraps (what it read before stays read)."""

    staff_key = models.ForeignKey(ChatKey, on_delete=models.CASCADE, related_name="certificates")
    clinic_key = models.ForeignKey(ClinicChatKey, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    signature = models.BinaryField(max_length=64)
    certified_at = models.DateTimeField(db_default=Now())
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "staff_key", "purpose"], name="one_certificate_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return str(self.purpose)


class Organisation(ClinicOwnedModel):
    """An employer whose employees the clinic's counsellors serve."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="organisation_name_per_clinic")
        ]

    def __str__(self) -> str:
        return self.name


class JoinCodeQuerySet(ClinicQuerySet):
    def admitting(self) -> JoinCodeQuerySet:
        return self.filter(retired_at__isnull=True)


class JoinCode(ClinicOwnedModel):
    """The code on an organisation's poster. Retired (rotated or closed): it admits no new
    reporter; conversations started with it go on."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="join_codes"
    )
    code = models.CharField(max_length=20, unique=True)
    created_at = models.DateTimeField(db_default=Now())
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = JoinCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


class Conversation(ClinicOwnedModel):
    """One reporter's conversation with an organisation's counsellors. The reporter is known
    only by their key set; the id is random and never the authorisation. The row lives while it
    holds a live message: its `expires_at` follows the newest message's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="conversations"
    )
    join_code = models.ForeignKey(
        JoinCode, on_delete=models.SET_NULL, null=True, related_name="conversations"
    )
    reporter_key_id = models.CharField(max_length=KEY_ID_LENGTH, unique=True)
    reporter_kem_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    reporter_sig_public = models.BinaryField(max_length=PUBLIC_KEY_BYTES)
    # The reporter's private keys sealed under their recovery code, found by its hash.
    recovery_lookup = models.CharField(max_length=64, unique=True)
    sealed_private = models.JSONField()
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    created_at = models.DateTimeField(db_default=Now())
    last_message_at = models.DateTimeField(db_default=Now())
    reporter_read_at = models.DateTimeField(null=True, blank=True)
    # The month (first day) in which this reporter was last counted active, for UsageMonth.
    counted_month = models.DateField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = ChatQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["organisation", "status", "-last_message_at"], name="conversation_inbox"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class SealedMessage(models.Model):
    """The one message format of both channels (docs/chat-protocol.md, "Messages"): ciphertext,
    its IV, the sender's signature and the signed recipient list. The id is made by the
    sender's client and is part of what it signs: a resend of the same id is the same message
    (idempotent)."""

    id = models.UUIDField(primary_key=True, editable=False)
    kind = models.CharField(max_length=4, choices=MessageKind.choices)
    sender_key_id = models.CharField(max_length=KEY_ID_LENGTH)
    iv = models.BinaryField(max_length=12)
    cipher = models.BinaryField()
    signature = models.BinaryField(max_length=64)
    recipients = models.TextField()  # the signed, sorted recipient key ids joined by ","
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField(db_index=True)

    objects = ChatQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.id)


class SealedWrap(models.Model):
    """A message's content key sealed (HPKE) to one recipient key set; purged with its message."""

    recipient_key_id = models.CharField(max_length=KEY_ID_LENGTH)
    sealed = models.BinaryField(max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.recipient_key_id)


class Message(SealedMessage):
    """A message or an internal note of the counsellor chat."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    from_reporter = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conversation_time")
        ]


class Wrap(SealedWrap):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="wraps")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "recipient_key_id"], name="one_wrap_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["recipient_key_id"], name="wrap_recipient")]


class ConversationRead(models.Model):
    """Until when a counsellor has read a conversation (unread first, unread counts)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_read_per_user")
        ]

    def __str__(self) -> str:
        return str(self.conversation_id)


class ChatNotification(ClinicOwnedModel):
    """When a counsellor was last told that a message waits, and since when another waits
    untold: at most one e-mail per counsellor per quarter hour."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="one_notification_per_user")
        ]

    def __str__(self) -> str:
        return str(self.user_id)


class UsageMonth(ClinicOwnedModel):
    """Counts per join code and month, from metadata only: no reporter, conversation or key is
    named, so the figures outlive the 31 days of the conversations they count."""

    join_code = models.ForeignKey(JoinCode, on_delete=models.CASCADE, related_name="months")
    month = models.DateField()  # its first day
    conversations_started = models.PositiveIntegerField(default=0)
    active_reporters = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["join_code", "month"], name="one_usage_per_month")
        ]

    def __str__(self) -> str:
        return str(self.month)


# --- clinic messages ----------------------------------------------------------------------------


class Thread(ClinicOwnedModel):
    """A patient record's messages with its clinic's team: one thread per record, so a patient
    linked to two clinics has two, each seen by that clinic alone. The row lives while it holds
    a live message: its `expires_at` follows the newest message's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, related_name="message_thread"
    )
    status = models.CharField(
        max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())
    # Null until someone writes: a thread opened and left empty is in nobody's inbox.
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The patient's newest message: unread for a member of the team when newer than their
    # ThreadRead (one indexed comparison per thread, not a scan of the thread's messages).
    last_patient_message_at = models.DateTimeField(null=True, blank=True)
    patient_read_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = ChatQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "status", "-last_message_at"], name="thread_inbox")
        ]

    def __str__(self) -> str:
        return str(self.id)


class ClinicMessage(SealedMessage):
    """A message of a patient's thread, with at most one attachment: its ciphertext is a
    private file (`attachment`, a random storage name), encrypted in the browser under the
    message's content key; its name and type travel inside the encrypted body."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    from_patient = models.BooleanField()
    attachment = models.CharField(max_length=200, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)  # of the ciphertext

    class Meta:
        indexes = [models.Index(fields=["thread", "created_at"], name="clinic_message_thread_time")]


class ClinicWrap(SealedWrap):
    message = models.ForeignKey(ClinicMessage, on_delete=models.CASCADE, related_name="wraps")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "recipient_key_id"], name="one_clinic_wrap_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["recipient_key_id"], name="clinic_wrap_recipient")]


class ThreadRead(models.Model):
    """Until when a member of the team has read a thread (unread first, unread counts)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="one_thread_read_per_user")
        ]

    def __str__(self) -> str:
        return str(self.thread_id)
