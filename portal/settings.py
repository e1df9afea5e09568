"""Settings of the clinic portal, read from the environment (django-environ).

Secrets have no production defaults: outside the demo, SECRET_KEY, FIELD_ENCRYPTION_KEY,
DATABASE_URL and CELERY_BROKER_URL must be set or start-up fails. The demo (`make run`) writes its
own `.env` with generated secrets and DEMO=true; see README.md.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# DEBUG is Django's debug mode and nothing else: technical error pages that list every URL and
# show settings, without the CSP. The demo does not need it: DEMO gives the local defaults below
# (plain HTTP on localhost, a local database, a file broker, mail in files) with the portal's own
# error pages. DEBUG alone still implies those defaults, for a developer who wants both.
DEBUG = env.bool("DEBUG", default=False)
DEMO = env.bool("DEMO", default=DEBUG)

# --- secrets (no production defaults) ---------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a long random value.")
# One Fernet key, or a comma-separated list for rotation: the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEMO else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "clinics.apps.ClinicsConfig",
    "patients.apps.PatientsConfig",
    "messaging.apps.MessagingConfig",
    "exercises.apps.ExercisesConfig",
    "appointments.apps.AppointmentsConfig",
    "documents.apps.DocumentsConfig",
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "django_otp",
    # Only for its migrations: clinics/0015 moved its plain-hex keys into
    # clinics.AuthenticatorDevice (encrypted); its table stays empty.
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP and framing headers wrap WhiteNoise, so static files carry them as well (T29).
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, whose check parses the body: a too-large upload is refused unread.
    "portal.middleware.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinics.sessions.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "clinics.mfa.MFARequiredMiddleware",
    "clinics.tenancy.ActiveClinicMiddleware",
    "clinics.access.AccessPolicyMiddleware",
    "portal.middleware.NoStoreForAuthenticatedMiddleware",
    # Axes last, as its documentation asks: it turns lockouts into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "clinics.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinics.context_processors.navigation",
                "messaging.context_processors.chat_unread",
            ],
            # `{% module_script %}`: every script with its integrity (portal/static_integrity.py).
            "libraries": {"scripts": "portal.templatetags.scripts"},
        },
    },
    # The row partials of the long tables (patients/templatetags/measurement_tables.py) only:
    # Django's engine was too slow for them.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "portal.jinja2.environment",
            "trim_blocks": True,
            "lstrip_blocks": True,
        },
    },
]

# --- data ---------------------------------------------------------------------------------------
# PostgreSQL only: the measurement pages and imports use its SQL (LATERAL joins, COPY). The demo
# (DEMO) defaults to a local database of its own, which `make run` creates.
DEMO_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_demo"
DATABASES = {
    "default": env.db("DATABASE_URL", default=DEMO_DATABASE_URL if DEMO else environ.Env.NOTSET)
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- authentication ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out user names and addresses before any password check.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "clinics.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 256}},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "clinics.adapters.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "clinics.forms.PatientSignupForm"
ACCOUNT_FORMS = {
    "add_email": "clinics.account_forms.PortalAddEmailForm",
    "reset_password": "clinics.account_forms.PortalResetPasswordForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
# Sign-up is by invitation only: no "you have no account here" mail to arbitrary addresses.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# P3: a password reset never logs anyone in, let alone past the second factor.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# No "remember me": sessions end with the browser and on the idle/absolute timeouts below.
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_LOGIN_BY_CODE_ENABLED = False  # an e-mailed code is never a factor
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEMO else "https"

# Lock a user name and an address independently, each at its own limit within the cool-off
# period: guessing one account from many addresses and spraying passwords across many accounts
# from one address are both stopped; the address's limit is larger, as a clinic's staff may share
# one address. A success clears that account's own failures only (clinics/lockout.py, T39).
AXES_HANDLER = "clinics.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOCKOUT_ADDRESS_FAILURE_LIMIT = env.int("LOCKOUT_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "clinics.security.login_identifier"
AXES_CLIENT_IP_CALLABLE = "clinics.security.client_ip"
AXES_RESET_ON_SUCCESS = True
# The stored user name is a keyed hash (clinics.security.lockout_identifier); the posted form is
# stored too (AccessAttempt.post_data), so its name fields are masked like the password.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login", "email"]
# No per-login trail in axes: lockouts need only the failures, and axes's access log would keep
# every sign-in's address and browser with no retention period.
AXES_DISABLE_ACCESS_LOG = True
# No axes pages in the admin: its rows hold keyed hashes, not names, so the operator could read
# nothing there; `manage.py lockout_reset EMAIL` and `axes_reset_ip` lift a lockout.
AXES_ENABLE_ADMIN = False
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_VERBOSE = False

# Behind a load balancer, the number of proxies whose X-Forwarded-For entries we trust.
# 0 means: use REMOTE_ADDR only, never a client-supplied header.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Clinic portal")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
MFA_BACKUP_CODE_COUNT = 10
MFA_MAX_CODE_FAILURES = env.int("MFA_MAX_CODE_FAILURES", default=5)
# At most one "someone is guessing your codes" e-mail per account in this many seconds.
MFA_GUESSING_NOTICE_SECONDS = 3600

# --- sessions -----------------------------------------------------------------------------------
# Written to the database and the cache, read from the cache: no session query on most requests.
# Sessions end by logout (flush), key cycling or the idle/absolute timeouts, never by deleting rows
# behind the cache's back; a deactivated user is refused by the authentication backend. Every web
# process must share the cache (CACHE_URL=redis://... once there is more than one host).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=10 * 60 * 60)
# SESSION_COOKIE_AGE is an idle timeout: clinics.sessions re-saves a signed-in session (and so
# pushes its expiry on) at most once per SESSION_REFRESH_INTERVAL seconds, not on every request,
# so a session ends between AGE - INTERVAL and AGE seconds after its last request, never later.
SESSION_REFRESH_INTERVAL = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- security headers ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEMO else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEMO)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEMO)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        # blob: a decrypted attachment's preview, made in the browser (static/js/chat/thread.js).
        "img-src": [SELF, "data:", "blob:"],
        # A record's videos and the exercises' videos, played from the portal's own URLs.
        "media-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
# Dutch dd-mm-yyyy and British English dd/mm/yyyy, both with a 24-hour clock (portal/formats/).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
USE_TZ = True

# --- static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEMO
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The demo serves static files through WhiteNoise from the source folders, looked up per request
# as they are edited, without collectstatic (runserver serves none with DEBUG off).
WHITENOISE_USE_FINDERS = DEMO
WHITENOISE_AUTOREFRESH = DEMO

# --- e-mail -------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://" if DEMO else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Celery -------------------------------------------------------------------------------------
# Embedded default: kombu's file-system transport under var/, so the demo needs no Redis.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default="filesystem://" if DEMO else environ.Env.NOTSET
)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
    if CELERY_BROKER_URL == "filesystem://"
    else {}
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Every retention purge (expired sessions and invitations, abandoned imports, the access log
    # after 5 years): the periods are the personal-data declarations (`<app>/personal_data.py`).
    "retention-purge": {
        "task": "clinics.tasks.retention_purge",
        "schedule": 60 * 60,
    },
    # Counsellors' "a message waits" e-mails held back by the quarter hour (messaging).
    "chat-notifications": {
        "task": "messaging.tasks.chat_notifications_send",
        "schedule": 5 * 60,
    },
    # Private files no row names: message attachments, record documents (a request that died
    # mid-way, a deleted record); each app declares its folder's owner (private_files).
    "attachment-orphans": {
        "task": "clinics.tasks.private_file_orphans_sweep",
        "schedule": 60 * 60,
    },
    # Patients' "today's exercises are ready" e-mails, on the days they chose (exercises).
    "exercise-reminders": {
        "task": "exercises.tasks.exercise_reminders_send",
        "schedule": crontab(hour=7, minute=30),
    },
    "alerts-missing-readings": {
        "task": "patients.tasks.alerts_check_missing_readings_task",
        "schedule": crontab(hour=6, minute=15),  # before the morning round
    },
}

# --- cache ---------------------------------------------------------------------------------------
# Shared by every process: allauth's rate limits and import progress live here. The embedded
# default is a file cache under var/; production sets CACHE_URL=redis://...
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- portal ------------------------------------------------------------------------------------
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)
PATIENT_MINIMUM_AGE = 16
ACCESS_LOG_PAGE_SIZE = 50
# Private files (uploaded exports today; media, documents and exports later) are never served
# from a URL: the code reaches them only through portal/private_files.py and this storage alias.
# One host: a directory. Several web hosts and workers: a shared file system there, or object
# storage by setting only, e.g. PRIVATE_STORAGE_BACKEND=storages.backends.s3.S3Storage with
# PRIVATE_STORAGE_OPTIONS='{"bucket_name": "...", "endpoint_url": "..."}' (django-storages
# installed, credentials in its usual AWS_* variables).
PRIVATE_UPLOAD_ROOT = env.path("PRIVATE_UPLOAD_ROOT", default=VAR_DIR / "private-uploads")
_FILE_SYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
PRIVATE_STORAGE_BACKEND = env.str("PRIVATE_STORAGE_BACKEND", default=_FILE_SYSTEM_STORAGE)
STORAGES["private"] = {
    "BACKEND": PRIVATE_STORAGE_BACKEND,
    "OPTIONS": env.json("PRIVATE_STORAGE_OPTIONS", default={})
    | (
        # No base_url: private files have no URL; they are served only by views (file_response).
        {
            "location": PRIVATE_UPLOAD_ROOT,
            "directory_permissions_mode": 0o700,
            "file_permissions_mode": 0o600,
        }
        if PRIVATE_STORAGE_BACKEND == _FILE_SYSTEM_STORAGE
        else {}
    ),
}
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=300 * 1024 * 1024)
IMPORT_SYNC_MAX_BYTES = env.int("IMPORT_SYNC_MAX_BYTES", default=2 * 1024 * 1024)
# Documents, photos and videos on a patient record (documents): phone videos are large.
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=100 * 1024 * 1024)
# A photo or short video of an exercise (issue 12): what a phone records in half a minute.
EXERCISE_MEDIA_MAX_BYTES = env.int("EXERCISE_MEDIA_MAX_BYTES", default=50 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
