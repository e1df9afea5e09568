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
