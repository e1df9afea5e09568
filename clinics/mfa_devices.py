"""The authenticator (TOTP) device, with its key encrypted at rest (T43, issue 8 F5).

Invariants:
- The key is stored only in a Strict encrypted field (`portal.crypto`): a database dump shows
  Fernet ciphertext, never the key in hex, base32 or base64. `bin_key` decrypts it; it is shown
  once, to its owner, at enrolment (`config_url`, the QR code and the base32 text).
- Verification is RFC 6238 through `django_otp.oath.TOTP`: 30 s steps from `t0`, 6 digits,
  `tolerance` steps either side around the known `drift`. A code is accepted only for a time
  step after `last_t`, so a code is never accepted twice (the caller locks the row:
  `devices_for_user(..., for_verify=True)`). Each wrong code throttles the device
  exponentially (django-otp's `ThrottlingMixin`, factor `OTP_TOTP_THROTTLE_FACTOR`).
- This replaces django-otp's `otp_totp.TOTPDevice`, whose key column is plain hex; migration
  `clinics/0015_totp_keys_encrypted` moved its rows here and its table stays empty.
"""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from portal.crypto import StrictEncryptedCharField

KEY_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1


def new_key() -> str:
    """A fresh random key, hex-encoded (the stored form, before encryption)."""
    return random_hex(KEY_BYTES)


def key_validator(value: str) -> None:
    hex_validator()(value)


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP) of a user; the key is encrypted at rest."""

    key = StrictEncryptedCharField(
        max_length=80,
        default=new_key,
        validators=[key_validator],
        help_text="A hex-encoded secret key of up to 40 bytes, encrypted at rest.",
    )
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: only a later step is accepted (no replay).
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator device"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode("ascii"))

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token: object) -> bool:
        """True when the token is the code of a time step within tolerance and after `last_t`;
        the drift then follows the phone's clock. A wrong code throttles the device."""
        if not self.verify_is_allowed()[0]:
            return False
        try:
            code = int(str(token))
        except ValueError:
            code = None
        if code is not None:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            if totp.verify(code, self.tolerance, self.last_t + 1):
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                # Only what changed: the key's ciphertext is not rewritten on each sign-in.
                self.save(update_fields=[*_VERIFY_FIELDS, "last_t", "drift", "last_used_at"])
                return True
        self.throttle_increment(commit=False)
        self.save(update_fields=_VERIFY_FIELDS)
        return False

    @property
    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app scans (Key Uri Format), with the issuer."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        username = str(self.user.get_username())
        label = f"{issuer}:{username}" if issuer else username
        params = {
            "secret": b32encode(self.bin_key).decode("ascii").rstrip("="),
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        query = urlencode(params)
        if issuer:
            query += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{query}"


_VERIFY_FIELDS = ["throttling_failure_timestamp", "throttling_failure_count"]
