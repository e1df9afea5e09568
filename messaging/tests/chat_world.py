"""A clinic with the counsellor chat set up, made the way browsers make it (the Python twin of
the crypto module), for the chat's tests: the clinic key, certified counsellors, an organisation
with its code, and reporters who join and sign in through the real endpoints."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field

from django.test import Client
from django.urls import reverse

from clinics.models import Clinic, User
from messaging import crypto, payloads, services
from messaging.models import Conversation, MessageKind, Organisation, Purpose

PASSPHRASE = "correct horse battery staple"
ORIGIN = "http://testserver"


@dataclass(frozen=True)
class PooledKeys:
    keys: crypto.KeySet
    recovery_code: str
    sealed: dict  # {"passphrase": ..., "recovery": ...}


@functools.cache
def pooled(kind: str, index: int) -> PooledKeys:
    """Key sets with their sealed copies, made once per test process: sealing runs PBKDF2 with
    600,000 iterations (about a third of a second), and every test's rows are rolled back, so
    the same keys serve every test."""
    keys = crypto.generate_clinic_key() if kind == "clinic" else crypto.generate_key_set()
    recovery_code = crypto.new_recovery_code()
    return PooledKeys(
        keys=keys,
        recovery_code=recovery_code,
        sealed={
            "passphrase": crypto.seal_private(keys, PASSPHRASE),
            "recovery": crypto.seal_private(keys, crypto.normalise_recovery_code(recovery_code)),
        },
    )


def sealed_pair(key_set: crypto.KeySet) -> dict:
    return {
        "passphrase": crypto.seal_private(key_set, PASSPHRASE),
        "recovery": crypto.seal_private(
            key_set, crypto.normalise_recovery_code(crypto.new_recovery_code())
        ),
    }


@dataclass
class Reporter:
    keys: crypto.KeySet
    recovery_code: str
    client: Client
    conversation_id: str = ""

    def recipients(self, counsellors: list[crypto.KeySet]) -> list[crypto.Recipient]:
        return [
            crypto.Recipient(key_id=k.key_id, kem_public=k.kem_public)
            for k in [self.keys, *counsellors]
        ]


@dataclass
class ChatWorld:
    clinic: Clinic
    admin: User
    clinic_key: crypto.KeySet
    organisation: Organisation
    code: str
    counsellors: dict[int, crypto.KeySet] = field(default_factory=dict)
    reporters: int = 0

    @classmethod
    def make(cls, clinic: Clinic, admin: User, name: str = "Bouwbedrijf Test") -> ChatWorld:
        pool = pooled("clinic", clinic.pk % 2)
        clinic_key = pool.keys
        services.clinic_key_set_up(
            clinic=clinic,
            actor=admin,
            key=payloads.KeySetIn(
                key_id=clinic_key.key_id,
                kem_public=b"",
                sig_public=clinic_key.sig_public,
                sealed=pool.sealed,
            ),
        )
        organisation = services.organisation_create(clinic=clinic, name=name)
        code = organisation.join_codes.admitting().get().code
        return cls(clinic, admin, clinic_key, organisation, code)

    def counsellor(self, user: User, *, certify: bool = True) -> crypto.KeySet:
        pool = pooled("staff", len(self.counsellors))
        keys = pool.keys
        stored = services.staff_key_set_up(
            user=user,
            key=payloads.KeySetIn(
                key_id=keys.key_id,
                kem_public=keys.kem_public,
                sig_public=keys.sig_public,
                sealed=pool.sealed,
            ),
        )
        if certify:
            services.certificate_issue(
                clinic=self.clinic,
                actor=self.admin,
                staff_key=stored,
                signature=crypto.certify(
                    self.clinic_key.sig, self.clinic_key.key_id, keys.key_id, Purpose.COUNSELLOR
                ),
            )
        self.counsellors[user.pk] = keys
        return keys

    def reporter_joins(self, client: Client | None = None) -> Reporter:
        """Join with the code and sign in by signing the challenge, as the browser does."""
        pool = pooled("reporter", self.reporters)
        self.reporters += 1
        keys, code = pool.keys, pool.recovery_code
        reporter = Reporter(keys=keys, recovery_code=code, client=client or Client())
        conversation_id = str(uuid.uuid4())
        response = post_json(
            reporter.client,
            reverse("reporter:api_join"),
            {
                "code": self.code,
                "conversation_id": conversation_id,
                "key_id": keys.key_id,
                "kem_public": crypto.b64(keys.kem_public),
                "sig_public": crypto.b64(keys.sig_public),
                "sealed_private": pool.sealed["recovery"],
                "recovery_lookup": crypto.recovery_lookup(code),
            },
        )
        assert response.status_code == 201, response.content
        reporter.conversation_id = conversation_id
        reporter_signs_in(reporter)
        return reporter

    def conversation(self, reporter: Reporter) -> Conversation:
        return Conversation.objects.get(pk=reporter.conversation_id)

    def reporter_message(self, reporter: Reporter, text: str, nickname: str = "Merel") -> dict:
        return crypto.seal_message(
            conversation_id=reporter.conversation_id,
            kind=MessageKind.BODY,
            sender=reporter.keys,
            plain={"v": 1, "body": text, "nickname": nickname},
            recipients=reporter.recipients(list(self.counsellors.values())),
        )

    def counsellor_message(
        self, reporter: Reporter, sender: crypto.KeySet, text: str, *, note: bool = False
    ) -> dict:
        counsellors = list(self.counsellors.values())
        recipients = (
            [crypto.Recipient(key_id=k.key_id, kem_public=k.kem_public) for k in counsellors]
            if note
            else reporter.recipients(counsellors)
        )
        return crypto.seal_message(
            conversation_id=reporter.conversation_id,
            kind=MessageKind.NOTE if note else MessageKind.BODY,
            sender=sender,
            plain={"v": 1, "body": text},
            recipients=recipients,
        )


def post_json(client: Client, url: str, data: object, **extra: object):
    return client.post(url, data=json.dumps(data), content_type="application/json", **extra)


def reporter_signs_in(reporter: Reporter) -> None:
    challenge = reporter.client.get(reverse("reporter:api_challenge")).json()
    signature = crypto.sign_login(reporter.keys.sig, challenge["origin"], challenge["nonce"])
    response = post_json(
        reporter.client,
        reverse("reporter:api_session"),
        {
            "key_id": reporter.keys.key_id,
            "nonce": challenge["nonce"],
            "signature": crypto.b64(signature),
        },
    )
    assert response.status_code == 200, response.content
