"""The clinic admin's side of the chat: organisations, codes, posters and QR codes, usage, and
the keys page: counsellors' keys certified for the counsellor chat, professionals' and admins'
for clinic messages, the purpose decided by the holder's role."""

from __future__ import annotations

import os
import secrets

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from clinics.models import Membership, Role
from conftest import _staff
from messaging import crypto
from messaging.models import (
    Certificate,
    ChatKey,
    ClinicChatKey,
    JoinCode,
    Purpose,
    UsageMonth,
)
from messaging.tests.chat_world import ChatWorld, post_json
from messaging.tests.clinic_world import key_set_up

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
    waiting = _staff(clinic_a, Role.COUNSELLOR, "wacht@noord.example")
    waiting_keys = world.counsellor(waiting, certify=False)
    admin = client_for(adam)
    listed = {k["key_id"] for k in admin.get(reverse("messaging:api_certify_list")).json()["keys"]}
    assert listed == {waiting_keys.key_id}
    certificate = Certificate.objects.get(staff_key__user=cora)
    admin.post(reverse("messaging:certificate_revoke", args=[certificate.pk]))
    listed = {k["key_id"] for k in admin.get(reverse("messaging:api_certify_list")).json()["keys"]}
    assert listed == {waiting_keys.key_id, world.counsellors[cora.pk].key_id}


# --- certifying both kinds of staff key ----------------------------------------------------------


def signed(world: ChatWorld, keys: crypto.KeySet, purpose: str) -> dict:
    """The body admin.js posts: the clinic key's signature over the key id and the purpose."""
    signature = crypto.certify(world.clinic_key.sig, world.clinic_key.key_id, keys.key_id, purpose)
    return {"certificate": crypto.b64(signature)}


def certify_url(user) -> str:
    return reverse("messaging:api_certify", args=[ChatKey.objects.get(user=user).pk])


def waiting(admin) -> dict[str, str]:
    """key id → purpose of the keys api_certify_list offers for signing."""
    keys = admin.get(reverse("messaging:api_certify_list")).json()["keys"]
    return {k["key_id"]: k["purpose"] for k in keys}


def section(page: str, purpose: str) -> str:
    """The part of the keys page that lists the keys of one purpose."""
    return page.split(f'data-purpose="{purpose}"', 1)[1].split("</section>", 1)[0]


def test_the_keys_page_lists_counsellors_and_the_clinic_team_apart(
    world, clinic_a, adam, alice, cora, charlie, paul, client_for
):
    """Counsellors in one table, professionals and admins (the admin included) in the other,
    each with the state of their key for that table's purpose; nobody of another clinic and no
    patient."""
    key_set_up(alice, 1)
    key_set_up(charlie, 2)
    key_set_up(paul, 3)
    page = client_for(adam).get(reverse("messaging:chat_admin")).content.decode()
    counsellors, team = section(page, Purpose.COUNSELLOR), section(page, Purpose.TEAM)
    assert cora.email in counsellors and 'class="tag tag--ok"' in counsellors
    assert alice.email not in counsellors and adam.email not in counsellors
    assert alice.email in team and adam.email in team and cora.email not in team
    alice_key = ChatKey.objects.get(user=alice)
    assert f'data-certify="{alice_key.pk}"' in team and 'data-purpose="team"' in team
    assert 'data-purpose="counsellor"' not in team
    assert charlie.email not in page and paul.email not in page


def test_a_key_certified_for_the_counsellor_chat_shows_as_waiting_in_the_team_table(
    world, clinic_a, adam, cora, client_for
):
    """A counsellor who became a professional: their counsellor certificate is not the team
    table's, so their key waits there for a team certificate."""
    Membership.objects.filter(clinic=clinic_a, user=cora).update(role=Role.PROFESSIONAL)
    admin = client_for(adam)
    team = section(admin.get(reverse("messaging:chat_admin")).content.decode(), Purpose.TEAM)
    assert cora.email in team and 'class="tag tag--ok"' not in team
    assert waiting(admin) == {world.counsellors[cora.pk].key_id: Purpose.TEAM}


def test_the_waiting_keys_carry_the_purpose_of_their_holders_role(
    world, clinic_a, adam, alice, client_for
):
    """api_certify_list offers a counsellor's uncertified key for the counsellor chat and a
    professional's or an admin's for clinic messages; certified ones not at all."""
    dirk = _staff(clinic_a, Role.COUNSELLOR, "dirk@noord.example")
    keys = {dirk: key_set_up(dirk, 1), alice: key_set_up(alice, 2), adam: key_set_up(adam, 3)}
    admin = client_for(adam)
    assert waiting(admin) == {
        keys[dirk].key_id: Purpose.COUNSELLOR,
        keys[alice].key_id: Purpose.TEAM,
        keys[adam].key_id: Purpose.TEAM,
    }
    listed = admin.get(reverse("messaging:api_certify_list")).json()["keys"]
    alice_row = next(k for k in listed if k["key_id"] == keys[alice].key_id)
    assert alice_row["id"] == ChatKey.objects.get(user=alice).pk
    assert alice_row["kem_public"] == crypto.b64(keys[alice].kem_public)
    assert alice_row["sig_public"] == crypto.b64(keys[alice].sig_public)
    post_json(admin, certify_url(alice), signed(world, keys[alice], Purpose.TEAM))
    assert keys[alice].key_id not in waiting(admin)


def test_certifying_a_professionals_key_stores_a_team_certificate(
    world, clinic_a, adam, alice, client_for
):
    """The purpose comes from Alice's role: her certificate is for clinic messages and counts
    among the clinic's team keys, not its counsellors'."""
    keys = key_set_up(alice, 1)
    response = post_json(client_for(adam), certify_url(alice), signed(world, keys, "team"))
    assert response.status_code == 201, response.content
    assert response.json() == {"certified": keys.key_id, "purpose": "team"}
    certificate = Certificate.objects.get(staff_key__user=alice)
    assert certificate.purpose == Purpose.TEAM
    assert certificate in Certificate.objects.for_clinic(clinic_a).team()
    assert certificate not in Certificate.objects.for_clinic(clinic_a).counsellors()


def test_certifying_a_counsellors_key_stores_a_counsellor_certificate(
    world, clinic_a, adam, client_for
):
    """A counsellor's key gets the counsellor chat's purpose."""
    dirk = _staff(clinic_a, Role.COUNSELLOR, "dirk@noord.example")
    keys = key_set_up(dirk, 1)
    response = post_json(client_for(adam), certify_url(dirk), signed(world, keys, "counsellor"))
    assert response.status_code == 201, response.content
    certificate = Certificate.objects.get(staff_key__user=dirk)
    assert certificate.purpose == Purpose.COUNSELLOR
    assert certificate in Certificate.objects.for_clinic(clinic_a).counsellors()


@pytest.mark.parametrize("holder", ["professional", "counsellor"])
def test_a_certificate_signed_for_the_other_purpose_is_refused_and_nothing_stored(
    world, clinic_a, adam, alice, holder, client_for
):
    """The browser cannot choose the purpose: a signature over the other purpose's text is
    refused with its reason, whatever purpose the body claims."""
    user = alice if holder == "professional" else _staff(clinic_a, Role.COUNSELLOR, "d@n.example")
    right, wrong = (
        (Purpose.TEAM, Purpose.COUNSELLOR)
        if holder == "professional"
        else (Purpose.COUNSELLOR, Purpose.TEAM)
    )
    keys = key_set_up(user, 1)
    body = {**signed(world, keys, wrong), "purpose": wrong}
    response = post_json(client_for(adam), certify_url(user), body)
    assert response.status_code == 400
    with translation.override("nl"):
        reason = translation.gettext(
            "The certificate is signed for another purpose than this key's (%(purpose)s)."
        ) % {"purpose": right.label}
    assert response.json()["error"] == reason
    assert not Certificate.objects.filter(staff_key__user=user).exists()


def test_another_clinics_professionals_key_is_not_found(world, adam, charlie, client_for):
    """Charlie works in clinic B: clinic A's admin cannot certify his key, for any purpose."""
    keys = key_set_up(charlie, 1)
    admin = client_for(adam)
    for purpose in Purpose.values:
        response = post_json(admin, certify_url(charlie), signed(world, keys, purpose))
        assert response.status_code == 404
        assert response.json()["error"]
    assert not Certificate.objects.filter(staff_key__user=charlie).exists()
    assert keys.key_id not in waiting(admin)


def test_a_patients_key_is_not_found(world, adam, paul, client_for):
    """Paul is a patient of clinic A, with no staff membership: his key is nobody's to certify."""
    keys = key_set_up(paul, 1)
    admin = client_for(adam)
    for purpose in Purpose.values:
        response = post_json(admin, certify_url(paul), signed(world, keys, purpose))
        assert response.status_code == 404
    assert not Certificate.objects.filter(staff_key__user=paul).exists()
    assert keys.key_id not in waiting(admin)


def test_a_member_who_left_is_not_certified(world, clinic_a, adam, alice, client_for):
    """An inactive membership has no purpose: Alice's key is no longer offered or accepted."""
    keys = key_set_up(alice, 1)
    Membership.objects.filter(clinic=clinic_a, user=alice).update(is_active=False)
    admin = client_for(adam)
    assert keys.key_id not in waiting(admin)
    response = post_json(admin, certify_url(alice), signed(world, keys, "team"))
    assert response.status_code == 404
    assert not Certificate.objects.filter(staff_key__user=alice).exists()


@pytest.mark.parametrize(
    ("purpose", "text"),
    [
        (Purpose.COUNSELLOR, "The counsellor's key is revoked: it gets no new messages."),
        (Purpose.TEAM, "The team member's key is revoked: it gets no new clinic messages."),
    ],
)
def test_revoking_a_certificate_says_what_it_was_for_and_the_key_waits_again(
    world, clinic_a, adam, alice, cora, purpose, text, client_for
):
    """A revoked certificate of either purpose no longer counts; the flash names the channel."""
    holder = cora if purpose == Purpose.COUNSELLOR else alice
    if holder == alice:
        keys = key_set_up(alice, 1)
        post_json(client_for(adam), certify_url(alice), signed(world, keys, "team"))
    certificate = Certificate.objects.get(staff_key__user=holder, purpose=purpose)
    admin = client_for(adam)
    response = admin.post(reverse("messaging:certificate_revoke", args=[certificate.pk]))
    assert response.status_code == 302
    with translation.override("nl"):
        expected = translation.gettext(text)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [expected]
    assert not Certificate.objects.for_clinic(clinic_a).current(purpose).exists()
    assert waiting(admin)[certificate.staff_key.key_id] == purpose


def _staff_with_keys(clinic, count: int, start: int) -> None:
    """`count` more staff, professionals and counsellors in turn, each with a key set (random
    bytes: the page verifies nothing), every other one certified for their purpose."""
    clinic_key = ClinicChatKey.objects.for_clinic(clinic).get()
    for n in range(start, start + count):
        role = Role.PROFESSIONAL if n % 2 else Role.COUNSELLOR
        user = _staff(clinic, role, f"staff{n}@noord.example")
        staff_key = ChatKey.objects.create(
            user=user,
            key_id=secrets.token_hex(16),
            kem_public=b"\x04" + os.urandom(64),
            sig_public=b"\x04" + os.urandom(64),
            sealed_private={},
        )
        if n % 4 < 2:
            Certificate.objects.create(
                clinic=clinic,
                staff_key=staff_key,
                clinic_key=clinic_key,
                purpose=Purpose.TEAM if role == Role.PROFESSIONAL else Purpose.COUNSELLOR,
                signature=os.urandom(64),
            )


def test_the_keys_page_makes_as_many_queries_for_ten_staff_as_for_two(
    world, clinic_a, adam, cora, client_for
):
    """Keys and certificates are read with the staff, not once per row."""
    key_set_up(adam, 1)
    admin = client_for(adam)
    url = reverse("messaging:chat_admin")
    admin.get(url)  # one-time work (sessions, caches) is not counted
    with CaptureQueriesContext(connection) as two:
        assert admin.get(url).status_code == 200
    _staff_with_keys(clinic_a, 8, start=0)
    with CaptureQueriesContext(connection) as ten:
        page = admin.get(url).content.decode()
    assert page.count("@noord.example") >= 10
    assert len(ten) == len(two), [q["sql"] for q in ten.captured_queries]
