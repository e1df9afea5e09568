"""Password policy (SECURITY.md T07): at least 12 characters, long passphrases welcome up to 256,
common and numeric-only passwords refused, Argon2 first in production."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinics.tests.factories import DEFAULT_PASSWORD
from portal.settings_test import PRODUCTION_PASSWORD_HASHERS

pytestmark = pytest.mark.django_db

ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


def refusal_codes(password: str, user=None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()


def test_a_password_of_eleven_characters_is_refused():
    """Eleven characters is one short of the minimum."""
    assert refusal_codes("Kq7#vLm2!pX") == {"password_too_short"}


@pytest.mark.parametrize("length", [12, 64, 128, 200, 256])
def test_passwords_from_twelve_up_to_256_characters_are_allowed(length):
    """Twelve characters is enough, and long passphrases are welcome up to 256 characters."""
    password = ("Zeven kleine vogels zingen 7x " * 10)[:length]
    assert len(password) == length
    assert refusal_codes(password) == set()


def test_a_password_longer_than_256_characters_is_refused():
    """Only absurd lengths are refused (hashing cost)."""
    assert refusal_codes("Zeven kleine vogels zingen 7x " * 9) == {"password_too_long"}


@pytest.mark.parametrize("password", ["qwerty123456", "1qaz2wsx3edc", "justinbieber"])
def test_a_common_password_is_refused_even_when_long_enough(password):
    """Passwords from the common-password list are refused whatever their length."""
    assert len(password) >= 12
    assert "password_too_common" in refusal_codes(password)


def test_a_numeric_only_password_is_refused():
    """Twelve digits are long enough but entirely numeric."""
    assert "password_entirely_numeric" in refusal_codes("739184627391")


def test_a_password_like_the_e_mail_address_is_refused(alice):
    """A password resembling the user's own e-mail address is refused."""
    assert "password_too_similar" in refusal_codes("alice@noord.example", alice)


def test_password_change_form_applies_the_policy(client_for, alice):
    """Through the real change-password page: a short one is refused, a 200-character one kept."""
    client = client_for(alice)
    short = "Kort#Wacht1"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": short, "password2": short},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    alice.refresh_from_db()
    assert alice.check_password(DEFAULT_PASSWORD)

    long_passphrase = ("een lange zin over de zee en de duinen " * 6)[:200]
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": DEFAULT_PASSWORD,
            "password1": long_passphrase,
            "password2": long_passphrase,
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(long_passphrase)


def test_argon2_is_the_first_hasher_in_production():
    """New passwords are stored with Argon2 in production; PBKDF2 only to read older hashes."""
    assert PRODUCTION_PASSWORD_HASHERS[0] == ARGON2


def test_a_password_hashed_with_argon2_verifies():
    """An Argon2 hash of a password verifies it (one hash, one check: Argon2 is slow on purpose)."""
    encoded = make_password("a long enough passphrase", hasher="argon2")
    assert encoded.startswith("argon2$")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password("a long enough passphrase", encoded)
