"""The clinic admin's side of the chat: organisations, codes, posters and QR codes, usage."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import JoinCode, UsageMonth
from messaging.tests.chat_world import ChatWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clinic_a, adam, cora):
    chat = ChatWorld.make(clinic_a, adam)
    chat.counsellor(cora)
    return chat


def test_an_organisation_gets_a_code_a_qr_code_and_a_poster(world, adam, client_for):
    admin = client_for(adam)
    response = admin.post(reverse("messaging:organisations"), {"name": "Bakkerij De Korrel"})
    organisation_id = int(response["Location"].rstrip("/").split("/")[-1])
    code = JoinCode.objects.get(organisation_id=organisation_id, retired_at=None).code
    page = admin.get(reverse("messaging:organisation", args=[organisation_id])).content.decode()
    link = f"/m/?code={code}#k={world.clinic_key.key_id}"
    assert code in page and link in page
    qr = admin.get(reverse("messaging:organisation_qr", args=[organisation_id]))
    assert qr["Content-Type"] == "image/svg+xml" and qr.content.startswith(b"<?xml")
    poster = admin.get(reverse("messaging:organisation_poster", args=[organisation_id]))
    text = poster.content.decode()
    assert code in text and world.clinic_key.key_id[:4] in text


def test_a_duplicate_or_empty_name_is_refused_with_its_reason(world, adam, client_for):
    admin = client_for(adam)
    for name in (world.organisation.name, "   "):
        response = admin.post(reverse("messaging:organisations"), {"name": name})
        assert response.status_code == 200
        assert 'class="error"' in response.content.decode()


def test_a_closed_code_admits_nobody_and_a_new_one_can_be_made(world, adam, client_for):
    admin = client_for(adam)
    admin.post(reverse("messaging:code_close", args=[world.organisation.pk]))
    assert not JoinCode.objects.admitting().filter(organisation=world.organisation).exists()
    lookup = admin.get(reverse("reporter:api_code"), {"code": world.code})
    assert lookup.status_code == 404
    admin.post(reverse("messaging:code_rotate", args=[world.organisation.pk]))
    [fresh] = JoinCode.objects.admitting().filter(organisation=world.organisation)
    assert fresh.code != world.code


def test_usage_is_shown_only_for_codes_with_five_reporters_or_more(world, adam, client_for):
    admin = client_for(adam)
    join_code = JoinCode.objects.get(code=world.code)
    month = UsageMonth.objects.create(
        clinic=world.clinic, join_code=join_code, month="2026-11-01",
        conversations_started=4, active_reporters=3,
    )  # fmt: skip
    page = admin.get(reverse("messaging:usage")).content.decode()
    assert "<table" not in page and "Minder dan 5 melders" in page
    month.conversations_started = 5
    month.save()
    page = admin.get(reverse("messaging:usage")).content.decode()
    assert "<table" in page and "Actieve melders" in page


def test_the_keys_waiting_for_a_certificate_are_those_without_a_valid_one(
    world, clinic_a, adam, cora, client_for
):
    """A certified key is not listed; one set up but not certified is, and so is one whose
    certificate was revoked."""
    from clinics.models import Role
    from conftest import _staff
    from messaging.models import Certificate

    waiting = _staff(clinic_a, Role.COUNSELLOR, "wacht@noord.example")
    waiting_keys = world.counsellor(waiting, certify=False)
    admin = client_for(adam)
    listed = {k["key_id"] for k in admin.get(reverse("messaging:api_certify_list")).json()["keys"]}
    assert listed == {waiting_keys.key_id}
    certificate = Certificate.objects.get(staff_key__user=cora)
    admin.post(reverse("messaging:certificate_revoke", args=[certificate.pk]))
    listed = {k["key_id"] for k in admin.get(reverse("messaging:api_certify_list")).json()["keys"]}
    assert listed == {waiting_keys.key_id, world.counsellors[cora.pk].key_id}
