"""Test settings: the production settings plus speed-ups. Never used outside pytest."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("DEMO", "false")  # a developer's .env from `make run` says true
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
# A fixed, test-only Fernet key (never used outside tests).
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE=")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from portal.settings import *  # noqa: F403
from portal.settings import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS

# Argon2 stays available (and first in production, see test_passwords); tests hash fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]
# Django's backend with a flush that gets past the access log's TRUNCATE trigger.
DATABASES["default"]["ENGINE"] = "portal.test_database"  # noqa: F405
SECURE_SSL_REDIRECT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_UPLOAD_ROOT = Path(tempfile.gettempdir()) / f"portal-test-uploads-{os.getpid()}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {
        **STORAGES["private"],  # noqa: F405
        "OPTIONS": {**STORAGES["private"]["OPTIONS"], "location": PRIVATE_UPLOAD_ROOT},  # noqa: F405
    },
}
WHITENOISE_USE_FINDERS = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_AUTOREFRESH = True
