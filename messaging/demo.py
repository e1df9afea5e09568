"""The counsellor chat's demo data, added to each demo clinic by `seed_demo` (registered in
messaging.apps): the clinic's chat key, the counsellor's key set up and certified, an
organisation with a join code, and a few conversations written with real keys (the Python twin
of the browser's crypto module), so that a new user can try both sides at once.

The passphrases are derived from SECRET_KEY like the demo passwords: stable for one
installation, written to demo-credentials.json next to the logins. Idempotent: keys and
organisations that exist are kept; conversations are added only to an organisation without any.
"""

from __future__ import annotations

import uuid

from clinics.demo import SeededClinic, demo_password
from clinics.models import Clinic, User
from messaging import crypto, payloads, services
from messaging.models import (
    Certificate,
    ChatKey,
    ClinicChatKey,
    Conversation,
    MessageKind,
    Organisation,
    Purpose,
)
from messaging.sealed import Sender

ORGANISATIONS = {
    "delinde.example": "Bouwbedrijf Van Dijk",
    "zuidpark.example": "Gemeente Zuidveen",
}
# (nickname, the reporter's messages and the counsellor's answers, in order)
CONVERSATIONS = (
    (
        "Merel",
        (
            (
                "reporter",
                "Hallo, mijn leidinggevende maakt steeds opmerkingen over mijn uiterlijk. "
                "Ik weet niet goed wat ik ermee moet.",
            ),
            (
                "counsellor",
                "Goed dat u schrijft. Wat u beschrijft hoeft u niet te accepteren. "
                "Kunt u vertellen sinds wanneer dit speelt?",
            ),
            ("reporter", "Sinds een paar maanden, vooral in het werkoverleg."),
        ),
    ),
    (
        "Kees",
        (("reporter", "Ik word buitengesloten door mijn team. Kan ik een afspraak maken?"),),
    ),
)


def chat_passphrase(user: User) -> str:
    return demo_password(f"chat:{user.email}")


def clinic_key_passphrase(clinic: Clinic) -> str:
    return demo_password(f"chat-clinic:{clinic.pk}")


def chat_demo_seed(seeded: SeededClinic) -> list[dict]:
    clinic, admin = seeded.clinic, seeded.staff["beheer"]
    counsellor = seeded.staff["vertrouwenspersoon"]
    clinic_key = _clinic_key(clinic, admin)
    counsellor_keys = _counsellor_key(clinic, admin, counsellor, clinic_key)
    organisation = _organisation(clinic, ORGANISATIONS.get(seeded.demo.domain, "Demo BV"))
    code = organisation.join_codes.admitting().first()
    if not Conversation.objects.filter(organisation=organisation).exists():
        for nickname, lines in CONVERSATIONS:
            _conversation(code.code, counsellor_keys, nickname, lines)
    entry = {
        "email": counsellor.email,
        "chat_passphrase": chat_passphrase(counsellor),
        "org_code": code.code,
        "join_link": f"/m/?code={code.code}#k={clinic_key.key_id}",
    }
    return [entry, {"email": admin.email, "clinic_key_passphrase": clinic_key_passphrase(clinic)}]


def _clinic_key(clinic: Clinic, admin: User) -> crypto.KeySet:
    stored = ClinicChatKey.objects.for_clinic(clinic).first()
    if stored is not None:
        return crypto.open_private(
            stored.sealed_private["passphrase"], clinic_key_passphrase(clinic), stored.key_id
        )
    key_set = crypto.generate_clinic_key()
    services.clinic_key_set_up(
        clinic=clinic,
        actor=admin,
        key=payloads.KeySetIn(
            key_id=key_set.key_id,
            kem_public=b"",
            sig_public=key_set.sig_public,
            sealed=_sealed(key_set, clinic_key_passphrase(clinic)),
        ),
    )
    return key_set


def _counsellor_key(
    clinic: Clinic, admin: User, counsellor: User, clinic_key: crypto.KeySet
) -> crypto.KeySet:
    stored = ChatKey.objects.filter(user=counsellor).first()
    if stored is None:
        key_set = crypto.generate_key_set()
        stored = services.staff_key_set_up(
            user=counsellor,
            key=payloads.KeySetIn(
                key_id=key_set.key_id,
                kem_public=key_set.kem_public,
                sig_public=key_set.sig_public,
                sealed=_sealed(key_set, chat_passphrase(counsellor)),
            ),
        )
    else:
        key_set = crypto.open_private(
            stored.sealed_private["passphrase"], chat_passphrase(counsellor), stored.key_id
        )
    certified = Certificate.objects.for_clinic(clinic).counsellors().filter(staff_key=stored)
    if not certified.exists():
        services.certificate_issue(
            clinic=clinic,
            actor=admin,
            staff_key=stored,
            signature=crypto.certify(
                clinic_key.sig, clinic_key.key_id, stored.key_id, Purpose.COUNSELLOR
            ),
        )
    return key_set


def _sealed(key_set: crypto.KeySet, passphrase: str) -> dict:
    """The passphrase copy and a recovery copy (its code is not kept: the demo has the
    passphrase)."""
    return {
        "passphrase": crypto.seal_private(key_set, passphrase),
        "recovery": crypto.seal_private(
            key_set, crypto.normalise_recovery_code(crypto.new_recovery_code())
        ),
    }


def _organisation(clinic: Clinic, name: str) -> Organisation:
    found = Organisation.objects.for_clinic(clinic).filter(name=name).first()
    return found or services.organisation_create(clinic=clinic, name=name)


def _conversation(
    code: str, counsellor: crypto.KeySet, nickname: str, lines: tuple[tuple[str, str], ...]
) -> None:
    """A conversation as two browsers would write it. The reporter's recovery code is not
    kept: to try the reporter's side, join with the code as a new reporter."""
    reporter = crypto.generate_key_set()
    recovery_code = crypto.new_recovery_code()
    conversation = services.conversation_join(
        code=code,
        conversation_id=uuid.uuid4(),
        key=payloads.KeySetIn(
            key_id=reporter.key_id,
            kem_public=reporter.kem_public,
            sig_public=reporter.sig_public,
            sealed={
                "recovery": crypto.seal_private(
                    reporter, crypto.normalise_recovery_code(recovery_code)
                )
            },
        ),
        recovery_lookup=crypto.recovery_lookup(recovery_code),
    )
    recipients = [
        crypto.Recipient(key_id=k.key_id, kem_public=k.kem_public) for k in (reporter, counsellor)
    ]
    for side, text in lines:
        sender = reporter if side == "reporter" else counsellor
        plain = {"v": 1, "body": text}
        if side == "reporter":
            plain["nickname"] = nickname
        sealed = crypto.seal_message(
            conversation_id=str(conversation.pk),
            kind=MessageKind.BODY,
            sender=sender,
            plain=plain,
            recipients=recipients,
        )
        services.message_send(
            conversation=conversation,
            sender=Sender(key_id=sender.key_id, from_reporter=side == "reporter"),
            payload=payloads.message(sealed),
            notify=False,
        )
