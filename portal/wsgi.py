import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# Refuse to serve with a key that cannot read the stored data (never ciphertext as data).
from clinics.encryption import field_key_verify_against_database  # noqa: E402

field_key_verify_against_database()
