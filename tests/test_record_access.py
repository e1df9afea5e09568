"""Generated from the URL resolver: every page of a patient record goes through the record-access
door (patients.record_access) and writes exactly one access-log entry with its declared part.

A new URL with a `patient_id` is walked here the day it is added: without a declaration, or
with a second entry written by hand, it fails. The world and the request helpers are the URL
matrix's (tests/test_url_matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from pytest_django import DjangoDbBlocker

from clinics.models import AccessAction, AccessLogEntry, AccessOutcome
from patients.record_access import RecordAccess
from tests.test_url_matrix import (
    CLINIC_ADMIN,
    COUNSELLOR,
    MATRIX,
    NORMAL_GET_STATUS,
    PATIENT,
    POST_DATA,
    PROFESSIONAL,
    ROUTES,
    World,
    post_with_token,
    route_ids,
    url_for,
    user_of,
    world_rolled_back,
)
from tests.url_walk import Route


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    with world_rolled_back(django_db_blocker) as built:
        yield built


STAFF_RECORD_ROUTES = [r for r in ROUTES if "patient_id" in r.params]
OWN_RECORD_ROUTES = [r for r in ROUTES if "record_id" in r.params]


def declared(route: Route, world: World) -> RecordAccess:
    access = getattr(resolve(url_for(route, world)).func, "record_access", None)
    assert access is not None, (
        f"{route.view_name} names a patient record but declares no record access: decorate it "
        "with patients.record_access.staff_record / own_record."
    )
    return access


def staff_role(route: Route) -> str:
    allowed = MATRIX[route.view_name]
    return PROFESSIONAL if PROFESSIONAL in allowed else CLINIC_ADMIN


def methods(route: Route) -> list[str]:
    """GET where the page answers it, POST where it takes a form (or only POST)."""
    post_only = NORMAL_GET_STATUS.get(route.view_name) == frozenset({405})
    if post_only:
        return ["POST"]
    return ["GET", "POST"] if route.view_name in POST_DATA else ["GET"]


def request(world: World, route: Route, role: str, method: str):
    client = world.client(user_of(world, role))
    path = url_for(route, world)
    if method == "GET":
        return client.get(path)
    return post_with_token(client, path, POST_DATA.get(route.view_name, {}))


def new_entries(since: int) -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.filter(pk__gt=since).order_by("pk"))


def last_pk() -> int:
    return AccessLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_there_are_staff_and_own_record_routes_to_walk():
    """The walk finds the record pages (an empty walk would prove nothing)."""
    assert len(STAFF_RECORD_ROUTES) >= 10 and len(OWN_RECORD_ROUTES) >= 8


@pytest.mark.parametrize("route", STAFF_RECORD_ROUTES, ids=route_ids(STAFF_RECORD_ROUTES))
def test_every_staff_record_url_writes_exactly_one_entry_with_its_part(world, route, db):
    """Each request to a staff page of a record is one entry: the patient, the declared part,
    the read or write action of its method."""
    access = declared(route, world)
    assert access.kind == "staff" and access.part
    for method in methods(route):
        start = last_pk()
        response = request(world, route, staff_role(route), method)
        assert response.status_code < 400, (method, response.status_code)
        entries = new_entries(start)
        assert [(e.patient_id, e.part, e.action) for e in entries] == [
            (world.patient_a.pk, access.part, access.action_for(method))
        ], method


def denied_attempt(world: World, route: Route, role: str, side: str) -> list[tuple]:
    user = user_of(world, role)
    client = world.client(user)
    path = url_for(route, world, side)
    start = last_pk()
    method = methods(route)[0]
    if method == "GET":
        response = client.get(path)
    else:
        response = post_with_token(client, path, POST_DATA.get(route.view_name, {}))
    assert response.status_code in (403, 404), response.status_code
    return [
        (e.clinic_id, e.user_id, e.patient_id, e.object_id, e.part, e.outcome)
        for e in new_entries(start)
    ]


def denied_entry(world: World, user, asked_for, access: RecordAccess) -> tuple:
    """A denied entry in clinic A's log: who, no record, the number asked for, the part."""
    return (world.clinic_a.pk, user.pk, None, str(asked_for.pk), access.part, AccessOutcome.DENIED)


@pytest.mark.parametrize("route", STAFF_RECORD_ROUTES, ids=route_ids(STAFF_RECORD_ROUTES))
def test_a_record_of_another_clinic_is_a_logged_denied_attempt(world, route, db):
    """Asking for clinic B's record answers 404 and writes one "denied" entry in clinic A's log:
    the number asked for, but no link to the record (T16, F6)."""
    access = declared(route, world)
    role = staff_role(route)
    expected = denied_entry(world, user_of(world, role), world.patient_b, access)
    assert denied_attempt(world, route, role, "b") == [expected]


@pytest.mark.parametrize("route", STAFF_RECORD_ROUTES, ids=route_ids(STAFF_RECORD_ROUTES))
def test_a_role_that_may_not_see_a_record_page_is_a_logged_denied_attempt(world, route, db):
    """The clinic's counsellor (who sees no medical data) asks for a record page: 403, and one
    "denied" entry in the clinic's log."""
    access = declared(route, world)
    assert COUNSELLOR not in MATRIX[route.view_name]
    expected = denied_entry(world, world.cora, world.patient_a, access)
    assert denied_attempt(world, route, COUNSELLOR, "a") == [expected]


@pytest.mark.parametrize("route", OWN_RECORD_ROUTES, ids=route_ids(OWN_RECORD_ROUTES))
def test_a_patients_own_record_urls_go_through_the_door_and_log_nothing(world, route, db):
    """The patient's own pages declare their access too; a patient reading their own record is
    no access by someone else, so nothing is logged."""
    assert declared(route, world).kind == "own"
    assert PATIENT in MATRIX[route.view_name]
    for method in methods(route):
        start = last_pk()
        response = request(world, route, PATIENT, method)
        assert response.status_code < 400, (method, response.status_code)
        assert new_entries(start) == [], method


def test_the_dashboard_logs_each_patient_shown_in_one_insert(world, db):
    """The clinic list shows the clinic's patients: one entry each, written by one INSERT."""
    route = next(r for r in ROUTES if r.view_name == "patients:list")
    assert declared(route, world).kind == "list"
    start = last_pk()
    with CaptureQueriesContext(connection) as queries:
        response = request(world, route, PROFESSIONAL, "GET")
    assert response.status_code == 200
    shown = sorted(p.pk for p in response.context["patients_shown"])
    entries = new_entries(start)
    assert len(shown) >= 2 and sorted(e.patient_id for e in entries) == shown
    assert {(e.part, e.action) for e in entries} == {("measurements", AccessAction.READ)}
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "clinics_accesslogentry"')]
    assert len(inserts) == 1
