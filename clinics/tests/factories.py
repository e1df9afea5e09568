import factory
from allauth.account.models import EmailAddress

from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import Clinic, Membership, Role, User

DEFAULT_PASSWORD = "correct horse battery staple 42"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.PROFESSIONAL


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator (`clinics.AuthenticatorDevice`, the key encrypted at rest)."""

    class Meta:
        model = AuthenticatorDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True
