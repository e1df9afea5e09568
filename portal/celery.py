"""The Celery application. Tasks take ids (never model instances) and call services."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _verify_field_key_on_worker_start(**_kwargs: object) -> None:
    """A worker with the wrong encryption key must refuse to start, like the web process."""
    # Imported here, not at the top: this module is loaded before Django's apps are (the models
    # cannot be imported yet), not to dodge a cycle.
    from clinics.encryption import field_key_verify_against_database

    field_key_verify_against_database()
