import datetime

import factory

from clinics.tests.factories import ClinicFactory
from patients.models import Patient
from patients.services import patient_index_names


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    clinic = factory.SubFactory(ClinicFactory)
    given_name = factory.Faker("first_name", locale="nl_NL")
    family_name = factory.Faker("last_name", locale="nl_NL")
    date_of_birth = datetime.date(1970, 5, 17)
    email = factory.Sequence(lambda n: f"patient{n}@example.org")

    @factory.post_generation
    def name_index(obj, create, extracted, **kwargs):
        if create:
            patient_index_names(obj)


def reading_at(days_ago: float, **fields: object):
    """A Reading `days_ago` days before now (import here: factories stay importable alone)."""
    from django.utils import timezone

    from patients.imports.base import Reading

    measured_at = timezone.now() - datetime.timedelta(days=days_ago)
    return Reading(line=0, measured_at=measured_at, **fields)


def add_measurement(patient: Patient, days_ago: float, **fields: object):
    """Store one reading for the patient, as a professional's manual entry would."""
    from patients.measurements.services import measurement_from
    from patients.models import MeasurementSource

    measurement = measurement_from(
        reading_at(days_ago, **fields),
        patient=patient,
        source=MeasurementSource.MANUAL_PROFESSIONAL,
        actor=None,
    )
    measurement.save()
    return measurement
