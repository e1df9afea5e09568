"""The signed-in request's one statement (tenancy._signed_in_read) against the ORM's definition of
an active membership (MembershipQuerySet.active): the same rows, the same values, for every kind
of account."""

import pytest
from django.test import RequestFactory
from django.utils import timezone

from clinics import tenancy
from clinics.models import Membership, Role
from clinics.tests.factories import ClinicFactory, MembershipFactory, UserFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _read(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    return tenancy.active_memberships(request), tenancy.has_patient_records(request)


def _values(membership):
    fields = Membership._meta.concrete_fields
    clinic_fields = membership.clinic._meta.concrete_fields
    return (
        tuple(getattr(membership, f.attname) for f in fields),
        tuple(getattr(membership.clinic, f.attname) for f in clinic_fields),
    )


def _expected(user):
    return [
        _values(m) for m in Membership.objects.active().filter(user=user).select_related("clinic")
    ]


def test_memberships_are_the_active_ones_in_clinic_name_order_with_every_value():
    user = UserFactory()
    for name in ("Zuid", "Noord", "Midden"):
        MembershipFactory(user=user, clinic=ClinicFactory(name=name), role=Role.PROFESSIONAL)
    MembershipFactory(
        user=user, clinic=ClinicFactory(name="Oost"), is_active=False, ended_at=timezone.now()
    )
    MembershipFactory(clinic=ClinicFactory(name="Anders"))  # someone else's

    memberships, has_records = _read(user)

    assert [m.clinic.name for m in memberships] == ["Midden", "Noord", "Zuid"]
    assert [_values(m) for m in memberships] == _expected(user)
    assert has_records is False
    # Real models: saved state, the clinic cached (no query when the navigation reads it).
    assert all(not m._state.adding and m._state.db == "default" for m in memberships)


def test_an_inactive_user_has_no_memberships():
    user = UserFactory()
    MembershipFactory(user=user)
    user.is_active = False
    user.save()

    assert _read(user) == ([], False)
    assert _expected(user) == []


def test_a_patient_without_memberships_has_records_and_one_statement(django_assert_num_queries):
    user = UserFactory()
    PatientFactory(user=user)

    request = RequestFactory().get("/")
    request.user, request.session = user, {}
    with django_assert_num_queries(1):
        assert tenancy.active_memberships(request) == []
        assert tenancy.has_patient_records(request) is True
        tenancy.active_membership(request)


def test_staff_who_is_also_a_patient():
    user = UserFactory()
    membership = MembershipFactory(user=user)
    PatientFactory(user=user, clinic=membership.clinic)

    memberships, has_records = _read(user)

    assert [_values(m) for m in memberships] == _expected(user)
    assert has_records is True
