"""Re-encrypt every encrypted field under the first FIELD_ENCRYPTION_KEY, then rebuild the index.

The operator's procedure:
1. set `FIELD_ENCRYPTION_KEY=new,old` (the first key encrypts, all keys decrypt) and restart;
2. run `manage.py rotate_field_key`;
3. drop the old key: `FIELD_ENCRYPTION_KEY=new`, restart.

Invariants:
- Encrypted fields are found generically (every model, every field that is an EncryptedMixin),
  so a new encrypted field is rotated without touching this command.
- A value that is already readable with the first key alone is left as it is: a second run, or a
  run resumed after an interruption, writes nothing.
- Each batch is one transaction over rows locked with SELECT ... FOR UPDATE, so a concurrent
  edit is never overwritten with the value read before it; a value that no configured key can
  decrypt aborts the run with the batch rolled back.
- What is keyed by a key derived from the first field key (the blind index of patient names,
  portal.crypto.blind_index_key) is rebuilt afterwards by the hooks apps register
  (`field_key_rotated_hook_register`), so this command names no feature.
"""

from __future__ import annotations

from collections.abc import Iterator

import cryptography.fernet
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast
from encrypted_model_fields import fields as encrypted_fields

from portal.crypto import build_crypter, field_key_rotated_hooks


def encrypted_models() -> Iterator[tuple[type[models.Model], list[models.Field]]]:
    """Every concrete model with its encrypted fields (those of the library's EncryptedMixin)."""
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        found = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, encrypted_fields.EncryptedMixin) and f.model is model
        ]
        if found:
            yield model, found


def _chunks(values: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted fields under the first FIELD_ENCRYPTION_KEY and rebuild what is "
        "keyed by it (the patient name index). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: object, batch_size: int, **options: object) -> None:
        keys = settings.FIELD_ENCRYPTION_KEY
        keys = list(keys) if isinstance(keys, list | tuple) else [keys]
        crypter = build_crypter(keys)
        # The library encrypts with its module-level CRYPTER, built at import: make it the one of
        # the current settings for the duration of the run.
        previous = encrypted_fields.CRYPTER
        encrypted_fields.CRYPTER = crypter
        try:
            primary = cryptography.fernet.Fernet(keys[0])
            for model, fields in encrypted_models():
                self._rotate_model(model, fields, crypter, primary, batch_size)
            # What depends on the key beyond the fields (patients' blind name index).
            for hook in field_key_rotated_hooks():
                self.stdout.write(hook(batch_size=batch_size))
        finally:
            encrypted_fields.CRYPTER = previous

    def _rotate_model(
        self,
        model: type[models.Model],
        fields: list[models.Field],
        crypter: cryptography.fernet.MultiFernet,
        primary: cryptography.fernet.Fernet,
        batch_size: int,
    ) -> None:
        # The base manager: rotation must reach every row, whatever a default manager hides.
        manager = model._base_manager
        pks = manager.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=batch_size)
        rotated = total = 0
        for chunk in _chunks(pks, batch_size):
            with transaction.atomic():
                rotated += self._rotate_batch(model, fields, crypter, primary, chunk)
            total += len(chunk)
        self.stdout.write(
            f"{model._meta.label}: {rotated} of {total} rows re-encrypted "
            f"({', '.join(f.name for f in fields)})."
        )

    def _rotate_batch(
        self,
        model: type[models.Model],
        fields: list[models.Field],
        crypter: cryptography.fernet.MultiFernet,
        primary: cryptography.fernet.Fernet,
        pks: list[int],
    ) -> int:
        # Cast to text so the ORM hands over the stored ciphertext instead of decrypting it.
        raw_names = {f"_raw_{f.attname}": f for f in fields}
        rows = (
            model._base_manager.select_for_update()
            .filter(pk__in=pks)
            .annotate(**{n: Cast(f.attname, models.TextField()) for n, f in raw_names.items()})
            .values_list("pk", *raw_names)
        )
        changed = []
        for pk, *raw_values in rows:
            if all(v is None or self._is_current(v, primary) for v in raw_values):
                continue
            obj = model(pk=pk)
            for field, raw in zip(fields, raw_values, strict=True):
                if raw is not None:
                    # The plain field's to_python: the library's would try to decrypt once more.
                    plain = super(encrypted_fields.EncryptedMixin, field).to_python(
                        self._decrypt(crypter, raw, obj)
                    )
                    setattr(obj, field.attname, plain)
            changed.append(obj)
        if changed:
            # Saving through the fields encrypts with encrypted_fields.CRYPTER: the first key.
            model._base_manager.bulk_update(changed, [f.name for f in fields])
        return len(changed)

    @staticmethod
    def _is_current(raw: str, primary: cryptography.fernet.Fernet) -> bool:
        try:
            primary.decrypt(raw.encode("utf-8"))
        except cryptography.fernet.InvalidToken:
            return False
        return True

    @staticmethod
    def _decrypt(crypter: cryptography.fernet.MultiFernet, raw: str, obj: models.Model) -> str:
        try:
            return crypter.decrypt(raw.encode("utf-8")).decode("utf-8")
        except cryptography.fernet.InvalidToken as exc:
            # Never re-encrypt what we cannot read: that would bury the data under the new key.
            raise CommandError(
                f"{obj._meta.label} {obj.pk}: a value cannot be decrypted with any key of "
                "FIELD_ENCRYPTION_KEY. Nothing of this batch was changed."
            ) from exc
