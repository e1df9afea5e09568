"""A clinic with clinic messages set up, made the way browsers make it (the Python twin of the
crypto module): the clinic key, team members' certified keys and a patient's key set."""

from __future__ import annotations

from pathlib import Path

from messaging import crypto, payloads, services
from messaging.models import Purpose
from messaging.tests.chat_world import pooled


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def key_set_up(user, index: int) -> crypto.KeySet:
    pool = pooled("staff", index)
    services.staff_key_set_up(
        user=user,
        key=payloads.KeySetIn(
            key_id=pool.keys.key_id,
            kem_public=pool.keys.kem_public,
            sig_public=pool.keys.sig_public,
            sealed=pool.sealed,
        ),
    )
    return pool.keys


def clinic_key(clinic, admin, index: int) -> crypto.KeySet:
    pool = pooled("clinic", index)
    services.clinic_key_set_up(
        clinic=clinic,
        actor=admin,
        key=payloads.KeySetIn(
            key_id=pool.keys.key_id, kem_public=b"", sig_public=pool.keys.sig_public,
            sealed=pool.sealed,
        ),
    )  # fmt: skip
    return pool.keys


def certify(clinic, admin, signing: crypto.KeySet, user, purpose=Purpose.TEAM):
    return services.certificate_issue(
        clinic=clinic,
        actor=admin,
        staff_key=user.chat_key,
        signature=crypto.certify(signing.sig, signing.key_id, user.chat_key.key_id, purpose),
        purpose=purpose,
    )
