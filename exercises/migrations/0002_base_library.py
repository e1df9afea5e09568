"""Loads the base exercise library that ships with the product (exercises/data/base_library.json)."""

from django.db import migrations

from exercises.base_library import base_library_load


def load(apps, schema_editor):
    base_library_load(apps.get_model("exercises", "Exercise"))


def unload(apps, schema_editor):
    # Base exercises used in a program are protected: unloading then fails, as it should.
    apps.get_model("exercises", "Exercise").objects.filter(clinic__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("exercises", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
