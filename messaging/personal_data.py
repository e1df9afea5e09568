"""Personal data held by messaging's models. See portal.personal_data for what a declaration says.

The counsellor chat keeps a reporter's words for 31 days, clinic messages a patient's and their
team's for two years (PRODUCT.md): each period is written once, in the Message and the
ClinicMessage declarations below, and the services set every `expires_at` from them.
"""

import datetime

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register, register_subject

COUNSELLOR_CHAT_RETENTION = datetime.timedelta(days=31)
# Two years of 365 days: a leap day inside them does not add one (kept at most two years).
CLINIC_MESSAGES_RETENTION = datetime.timedelta(days=730)
WITH_ACCOUNT = _("for as long as the account exists")
NOT_EXPORTED_CIPHERTEXT = _("not exported: ciphertext only the chat's members can open")


def register_all() -> None:
    register_subject(Subject.REPORTER, "messaging.Conversation")

    register(
        "messaging.Conversation",
        subject=Subject.REPORTER,
        purpose=_(
            "a reporter's conversation with an organisation's counsellors: the reporter's public "
            "keys, their private keys sealed under a recovery code the server never sees, status"
        ),
        retention=COUNSELLOR_CHAT_RETENTION,
        retention_note=_("31 days after its newest message"),
        export=_("not exported: the reporter has no account; their browser holds the chat"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge once it holds no live message"),
    )
    register(
        "messaging.Message",
        subject=Subject.REPORTER,
        purpose=_(
            "a message or a counsellor's internal note, end-to-end encrypted (the nickname "
            "travels inside the reporter's messages)"
        ),
        retention=COUNSELLOR_CHAT_RETENTION,
        retention_note=_("31 days after it was written, by the database's clock"),
        export=NOT_EXPORTED_CIPHERTEXT,
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge; nothing is archived"),
    )
    register(
        "messaging.Wrap",
        subject=Subject.REPORTER,
        purpose=_("a message's key sealed to one recipient's key"),
        retention=COUNSELLOR_CHAT_RETENTION,
        retention_note=_("deleted with its message"),
        export=NOT_EXPORTED_CIPHERTEXT,
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with its message by the retention purge"),
    )
    register(
        "messaging.ConversationRead",
        subject=Subject.REPORTER,
        purpose=_("until when a counsellor has read a conversation"),
        retention=COUNSELLOR_CHAT_RETENTION,
        retention_note=_("deleted with its conversation"),
        export=_("not exported: a read marker"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with its conversation"),
    )
    register(
        "messaging.ChatKey",
        subject=Subject.USER,
        purpose=_(
            "a staff member's or a patient's chat keys: public keys, private keys sealed under a "
            "chat passphrase and a recovery key the server never sees"
        ),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=_("not exported: keys, not data about the person"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with the account"),
    )
    register(
        "messaging.RetiredChatKey",
        subject=Subject.USER,
        purpose=_(
            "the public keys of a chat key set its holder replaced, to check the signatures of "
            "the messages it wrote"
        ),
        # As long as a message it signed can live: the longer of the two channels' periods.
        retention=CLINIC_MESSAGES_RETENTION,
        retention_note=_("two years after it was replaced"),
        export=_("not exported: keys, not data about the person"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge, and with the account"),
    )
    register(
        "messaging.Certificate",
        subject=Subject.USER,
        purpose=_("the clinic's certification of a staff chat key, who certified it, revocation"),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=_("not exported: a signature"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with the staff key"),
    )
    register(
        "messaging.ClinicChatKey",
        subject=Subject.USER,
        purpose=_("the clinic's certifying key and which admin set it up"),
        retention=None,
        retention_note=_("for as long as the clinic uses the chat"),
        export=_("not exported: a clinic's key"),
        erasure=Erasure.KEEP,
        erasure_reason=_("the admin who set it up is unlinked when their account goes"),
    )
    register(
        "messaging.ChatNotification",
        subject=Subject.USER,
        purpose=_("when a counsellor was last told by e-mail that a message waits"),
        retention=COUNSELLOR_CHAT_RETENTION,
        retention_note=_("31 days after the last notice"),
        export=_("not exported: a timestamp"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge"),
    )
    register(
        "messaging.Thread",
        subject=Subject.PATIENT,
        purpose=_(
            "a patient record's thread of messages with the clinic's team: status, who it is "
            "assigned to, when it was last written and read"
        ),
        retention=CLINIC_MESSAGES_RETENTION,
        retention_note=_("two years after its newest message"),
        export=_("not exported: the messages are ciphertext only the thread's members can open"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge once it holds no live message"),
    )
    register(
        "messaging.ClinicMessage",
        subject=Subject.PATIENT,
        purpose=_(
            "a message between a patient and the clinic's team, end-to-end encrypted, with its "
            "attachment (encrypted the same way, a private file)"
        ),
        retention=CLINIC_MESSAGES_RETENTION,
        retention_note=_("two years after it was written, by the database's clock"),
        export=_("not exported: ciphertext; the patient reads and saves it in the browser"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with its attachment by the retention purge; nothing is archived"),
    )
    register(
        "messaging.ClinicWrap",
        subject=Subject.PATIENT,
        purpose=_("a clinic message's key sealed to one recipient's key"),
        retention=CLINIC_MESSAGES_RETENTION,
        retention_note=_("deleted with its message"),
        export=NOT_EXPORTED_CIPHERTEXT,
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with its message by the retention purge"),
    )
    register(
        "messaging.ThreadRead",
        subject=Subject.PATIENT,
        purpose=_("until when a member of the team has read a patient's thread"),
        retention=CLINIC_MESSAGES_RETENTION,
        retention_note=_("deleted with its thread"),
        export=_("not exported: a read marker"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with its thread"),
    )
