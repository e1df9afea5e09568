"""The messaging demo data, added to each demo clinic by `seed_demo` (registered in
messaging.hooks), written with real keys (the Python twin of the browser's crypto module) so
that a new user can try both sides at once:

- the counsellor chat: the clinic's chat key, the counsellor's key set up and certified, an
  organisation with a join code, and a few conversations;
- clinic messages: every professional's and the admin's key certified for the team, a key for
  every patient with an account, and threads of a few patients with the team. This seeder runs
  after patients.demo's (messaging's AppConfig comes later), so the patients exist.

The passphrases are derived from SECRET_KEY like the demo passwords: stable for one
installation, written to demo-credentials.json next to the logins. Idempotent: keys and
organisations that exist are kept; conversations are added only to an organisation without any,
messages only to a thread without any. A stored key is opened (PBKDF2, about a sixth of a
second) only when a message is written with it, so a second run stays quick.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from clinics.demo import STAFF, SeededClinic, demo_password
from clinics.models import Clinic, User
from messaging import crypto, payloads, services, thread_services
from messaging.models import (
    PURPOSE_ROLES,
    Certificate,
    ChatKey,
    ClinicChatKey,
    ClinicMessage,
    Conversation,
    MessageKind,
    Organisation,
    Purpose,
)
from messaging.sealed import Sender
from patients.models import Patient

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
# Clinic messages: the team's members (staff as clinics.demo names them) ...
TEAM = tuple(local for local, role in STAFF if role in PURPOSE_ROLES[Purpose.TEAM])
# ... and per clinic the threads of its first patients with an account, in order: who writes
# ("patient" or a team member) and what.
THREADS = {
    "delinde.example": (
        (
            ("patient", "Mijn knie is sinds gisteren wat dikker na de oefeningen, is dat normaal?"),
            (
                "fysio1",
                "Een beetje zwelling na het oefenen komt vaker voor, zeker nu we de belasting "
                "hebben opgevoerd. Koel de knie een paar keer per dag tien minuten en leg hem "
                "hoog. Doe de oefeningen vandaag zonder gewicht.",
            ),
            ("patient", "Dank u. En als het morgen niet minder is?"),
            (
                "fysio1",
                "Laat het de praktijk dan weten, dan kijk ik er donderdag naar. Wordt de knie "
                "rood en warm of krijgt u koorts, bel dan direct uw huisarts.",
            ),
        ),
        (
            (
                "patient",
                "Bij de oefening met het elastiek begint mijn schouder na acht keer te trillen. "
                "Moet ik doorzetten tot vijftien?",
            ),
            (
                "fysio2",
                "Nee, stop zodra u de beweging niet meer rustig kunt sturen. Begin met twee "
                "series van zes en doe er elke week twee herhalingen bij.",
            ),
        ),
        (
            (
                "patient",
                "Kan ik de afspraak van donderdag verzetten naar volgende week? Mijn rug gaat "
                "gelukkig een stuk beter.",
            ),
            (
                "beheer",
                "Dat kan: u staat nu op dinsdag om 10.30 uur ingepland. Blijft u wel elke dag "
                "de rekoefeningen doen?",
            ),
            ("patient", "Ja, elke ochtend. Tot dinsdag!"),
        ),
    ),
    "zuidpark.example": (
        (
            (
                "patient",
                "Mag ik alweer hardlopen? Mijn enkel voelt bij het traplopen bijna normaal.",
            ),
            (
                "fysio1",
                "Fijn dat het beter gaat. Begin met afwisselend een minuut joggen en twee minuten "
                "wandelen, twintig minuten in totaal, op een vlakke ondergrond. Voelt u de enkel "
                "de ochtend erna nog, doe dan een stap terug.",
            ),
        ),
        (
            (
                "patient",
                "Ik ben het oefenschema kwijt dat ik vorige week meekreeg. Welke oefeningen "
                "waren het ook alweer?",
            ),
            (
                "fysio2",
                "De bruggetje-oefening en het zijwaarts heffen van het been, drie keer per week, "
                "drie series van tien. Bij de volgende afspraak krijgt u een nieuw schema mee.",
            ),
            ("patient", "Dank u wel, dan ga ik vanavond weer aan de slag."),
        ),
        (
            (
                "patient",
                "Na een dag achter de computer heb ik weer hoofdpijn vanuit mijn nek. Helpen de "
                "oefeningen dan ook?",
            ),
            (
                "fysio1",
                "Ja, doe ze juist dan: tien keer de kin intrekken en tien keer de schouders "
                "rollen. Zet uw scherm op ooghoogte en sta elk half uur even op.",
            ),
        ),
    ),
}


def chat_passphrase(user: User) -> str:
    return demo_password(f"chat:{user.email}")


def clinic_key_passphrase(clinic: Clinic) -> str:
    return demo_password(f"chat-clinic:{clinic.pk}")


def chat_demo_seed(seeded: SeededClinic) -> list[dict]:
    clinic, admin = seeded.clinic, seeded.staff["beheer"]
    counsellor = seeded.staff["vertrouwenspersoon"]
    signer = _Signer(clinic=clinic, admin=admin, key=_clinic_key(clinic, admin))
    counsellor_key = _user_key(counsellor, signer=signer, purpose=Purpose.COUNSELLOR)
    organisation = _organisation(clinic, ORGANISATIONS.get(seeded.demo.domain, "Demo BV"))
    code = organisation.join_codes.admitting().first()
    if not Conversation.objects.filter(organisation=organisation).exists():
        for nickname, lines in CONVERSATIONS:
            _conversation(code.code, counsellor_key.private, nickname, lines)
    entry = {
        "email": counsellor.email,
        "chat_passphrase": chat_passphrase(counsellor),
        "org_code": code.code,
        "join_link": f"/m/?code={code.code}#k={signer.key.key_id}",
    }
    entries = {counsellor.email: entry}
    for user in _clinic_messages_seed(seeded, signer):
        entries[user.email] = {"email": user.email, "chat_passphrase": chat_passphrase(user)}
    entries[admin.email]["clinic_key_passphrase"] = clinic_key_passphrase(clinic)
    return list(entries.values())


def _clinic_messages_seed(seeded: SeededClinic, signer: _Signer) -> list[User]:
    """The team's keys certified for clinic messages, a key for every patient with an account,
    and the clinic's demo threads; the users who got a key (their logins get its passphrase)."""
    team = {
        local: _user_key(seeded.staff[local], signer=signer, purpose=Purpose.TEAM) for local in TEAM
    }
    patients = list(
        Patient.objects.for_clinic(seeded.clinic)
        .filter(user__isnull=False)
        .select_related("user")
        .order_by("pk")
    )
    patient_keys = [_user_key(patient.user) for patient in patients]
    threads = THREADS.get(seeded.demo.domain, ())
    for patient, key, lines in zip(patients, patient_keys, threads, strict=False):
        _thread(patient, key, team, lines)
    return [seeded.staff[local] for local in TEAM] + [patient.user for patient in patients]


@dataclass(frozen=True)
class _Signer:
    """The clinic's key, with which its admin certifies staff keys."""

    clinic: Clinic
    admin: User
    key: crypto.KeySet


@dataclass
class _DemoKey:
    """A demo user's key set as stored; its private keys are opened from the chat passphrase
    only when a message is written with them (each opening runs PBKDF2)."""

    stored: ChatKey
    made: crypto.KeySet | None = None  # just set up: nothing to open

    @functools.cached_property
    def private(self) -> crypto.KeySet:
        if self.made is not None:
            return self.made
        return crypto.open_private(
            self.stored.sealed_private["passphrase"],
            chat_passphrase(self.stored.user),
            self.stored.key_id,
        )

    @property
    def recipient(self) -> crypto.Recipient:
        return crypto.Recipient(key_id=self.stored.key_id, kem_public=bytes(self.stored.kem_public))


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


def _user_key(
    user: User, *, signer: _Signer | None = None, purpose: Purpose | None = None
) -> _DemoKey:
    """The user's key set, set up under their chat passphrase if they have none, and certified
    by the signer's clinic for `purpose` unless it is already (patients are not certified)."""
    stored = ChatKey.objects.filter(user=user).first()
    if stored is not None:
        key = _DemoKey(stored=stored)
    else:
        key_set = crypto.generate_key_set()
        stored = services.staff_key_set_up(
            user=user,
            key=payloads.KeySetIn(
                key_id=key_set.key_id,
                kem_public=key_set.kem_public,
                sig_public=key_set.sig_public,
                sealed=_sealed(key_set, chat_passphrase(user)),
            ),
        )
        key = _DemoKey(stored=stored, made=key_set)
    if signer is None or purpose is None:
        return key
    certified = Certificate.objects.for_clinic(signer.clinic).current(purpose)
    if not certified.filter(staff_key=stored).exists():
        services.certificate_issue(
            clinic=signer.clinic,
            actor=signer.admin,
            staff_key=stored,
            signature=crypto.certify(signer.key.sig, signer.key.key_id, stored.key_id, purpose),
            purpose=purpose,
        )
    return key


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
    for message_id, (side, text) in zip(_ordered_ids(len(lines)), lines, strict=True):
        sender = reporter if side == "reporter" else counsellor
        plain = {"v": 1, "body": text}
        if side == "reporter":
            plain["nickname"] = nickname
        sealed = crypto.seal_message(
            conversation_id=str(conversation.pk),
            message_id=message_id,
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


def _thread(
    patient: Patient,
    patient_key: _DemoKey,
    team: dict[str, _DemoKey],
    lines: tuple[tuple[str, str], ...],
) -> None:
    """A patient's thread with the team as their browsers would write it, each message wrapped
    to the patient and to every key the clinic certified for its team."""
    thread = thread_services.thread_open(patient)
    if ClinicMessage.objects.filter(thread=thread).exists():
        return
    certified = Certificate.objects.for_clinic(patient.clinic_id).team().select_related("staff_key")
    recipients = [patient_key.recipient] + [
        crypto.Recipient(key_id=c.staff_key.key_id, kem_public=bytes(c.staff_key.kem_public))
        for c in certified
    ]
    for message_id, (side, text) in zip(_ordered_ids(len(lines)), lines, strict=True):
        writer = patient_key if side == "patient" else team[side]
        sealed = crypto.seal_message(
            conversation_id=str(thread.pk),
            message_id=message_id,
            kind=MessageKind.BODY,
            sender=writer.private,
            plain={"v": 1, "body": text},
            recipients=recipients,
        )
        thread_services.clinic_message_send(
            thread=thread,
            sender=Sender(key_id=writer.stored.key_id, from_reporter=side == "patient"),
            payload=payloads.message(sealed),
            notify=False,
        )


def _ordered_ids(count: int) -> list[str]:
    """Message ids in ascending order: the seed runs in one transaction, so every message gets
    the same created_at (the database's Now()) and the pages' order (created_at, id) falls to
    the ids; these keep a conversation in the order it was written."""
    return [str(message_id) for message_id in sorted(uuid.uuid4() for _ in range(count))]
