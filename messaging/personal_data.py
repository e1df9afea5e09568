"""Personal data held by messaging's models. See portal.personal_data for what a declaration says.

The counsellor chat keeps a reporter's words for 31 days (PRODUCT.md): the period is written
once, in the Message declaration below, and the chat's services set every `expires_at` from it.
"""

import datetime

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register, register_subject

COUNSELLOR_CHAT_RETENTION = datetime.timedelta(days=31)
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
        "messaging.StaffChatKey",
        subject=Subject.USER,
        purpose=_(
            "a staff member's chat keys: public keys, private keys sealed under a chat "
            "passphrase and a recovery key the server never sees"
        ),
        retention=None,
        retention_note=WITH_ACCOUNT,
        export=_("not exported: keys, not data about the person"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted with the account"),
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
