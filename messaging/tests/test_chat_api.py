"""The chat's endpoints with browsers played by the Python twin of the crypto module: what the
server accepts, what it refuses (a clear 4xx and nothing stored), and whom it lets read what."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from messaging import crypto
from messaging.models import Conversation, ConversationStatus, Message, UsageMonth, Wrap
from messaging.tests.chat_world import ChatWorld, pooled, post_json, reporter_signs_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clinic_a, adam, cora):
    chat = ChatWorld.make(clinic_a, adam)
    chat.counsellor(cora)
    return chat


def messages_url_for(reporter) -> str:
    return reverse("messaging:api_messages", args=[reporter.conversation_id])


def test_a_reporter_and_a_counsellor_exchange_messages_that_only_they_open(world, cora, client_for):
    reporter = world.reporter_joins()
    sent = world.reporter_message(reporter, "Mijn leidinggevende intimideert mij.")
    response = post_json(reporter.client, reverse("reporter:api_messages"), sent)
    assert response.status_code == 201

    counsellor = client_for(cora)
    listing = counsellor.get(messages_url_for(reporter)).json()
    [row] = listing["messages"]
    keys = world.counsellors[cora.pk]
    opened = crypto.open_message(
        conversation_id=reporter.conversation_id,
        row=row,
        me=keys,
        sender=reporter.keys.public,
    )
    assert opened["body"] == "Mijn leidinggevende intimideert mij."
    assert opened["nickname"] == "Merel"

    answer = world.counsellor_message(reporter, keys, "Dank voor uw bericht.")
    assert post_json(counsellor, messages_url_for(reporter), answer).status_code == 201
    note = world.counsellor_message(reporter, keys, "Intern: terugbellen", note=True)
    assert post_json(counsellor, messages_url_for(reporter), note).status_code == 201

    mine = reporter.client.get(reverse("reporter:api_messages")).json()
    assert [m["kind"] for m in mine["messages"]] == ["body", "body"]  # never the note
    opened = crypto.open_message(
        conversation_id=reporter.conversation_id,
        row=mine["messages"][1],
        me=reporter.keys,
        sender=keys.public,
    )
    assert opened["body"] == "Dank voor uw bericht."


def test_a_resend_is_idempotent_and_a_reused_id_is_refused(world):
    reporter = world.reporter_joins()
    sent = world.reporter_message(reporter, "een")
    url = reverse("reporter:api_messages")
    assert post_json(reporter.client, url, sent).status_code == 201
    assert post_json(reporter.client, url, sent).status_code == 200
    other = world.reporter_message(reporter, "twee")
    other["id"] = sent["id"]
    response = post_json(reporter.client, url, other)
    assert response.status_code == 409
    assert Message.objects.count() == 1


def test_a_replayed_message_id_from_another_conversation_is_refused(world):
    first, second = world.reporter_joins(), world.reporter_joins()
    sent = world.reporter_message(first, "een")
    assert post_json(first.client, reverse("reporter:api_messages"), sent).status_code == 201
    response = post_json(second.client, reverse("reporter:api_messages"), sent)
    # Refused before its id is looked at: it is signed by, and names, the other reporter's key.
    assert response.status_code == 403
    assert Message.objects.filter(conversation_id=second.conversation_id).count() == 0


def test_a_forged_recipient_list_is_refused_and_nothing_is_stored(world):
    """E2EE.md check 5, on the server's side: a key the clinic did not certify is no recipient."""
    reporter = world.reporter_joins()
    stranger = crypto.generate_key_set()
    sent = crypto.seal_message(
        conversation_id=reporter.conversation_id,
        kind="body",
        sender=reporter.keys,
        plain={"v": 1, "body": "x"},
        recipients=[
            *reporter.recipients(list(world.counsellors.values())),
            crypto.Recipient(key_id=stranger.key_id, kem_public=stranger.kem_public),
        ],
    )
    response = post_json(reporter.client, reverse("reporter:api_messages"), sent)
    assert response.status_code == 403
    assert "niet mag lezen" in response.json()["error"]  # Dutch, the default language
    assert not Message.objects.exists() and not Wrap.objects.exists()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda m: m.update(signature=crypto.b64(b"x" * 10)), 400),
        (lambda m: m.update(cipher=crypto.b64(b"x" * 300)), 400),
        (lambda m: m.update(cipher="not base64!"), 400),
        (lambda m: m.update(id="NOT-A-UUID"), 400),
        (lambda m: m.update(kind="note"), 403),
        (lambda m: m["wraps"].popitem(), 400),
        (lambda m: m.update(recipients=list(reversed(m["recipients"]))), 400),
        (lambda m: m.update(sender_key_id="0" * 32), 403),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(world, change, status):
    reporter = world.reporter_joins()
    sent = world.reporter_message(reporter, "x")
    change(sent)
    response = post_json(reporter.client, reverse("reporter:api_messages"), sent)
    assert response.status_code == status
    assert response.json()["error"]
    assert not Message.objects.exists()


def test_an_oversized_message_is_refused_with_413(world):
    reporter = world.reporter_joins()
    response = reporter.client.post(
        reverse("reporter:api_messages"),
        data=b"{" + b" " * (300 * 1024) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_a_malformed_body_is_a_400(world):
    reporter = world.reporter_joins()
    response = reporter.client.post(
        reverse("reporter:api_messages"), data=b"[1,2", content_type="application/json"
    )
    assert response.status_code == 400


def test_a_bad_code_admits_nobody(world):
    client = Client()
    assert client.get(reverse("reporter:api_code"), {"code": "ZZZZZZZZZZ"}).status_code == 404
    pool = pooled("reporter", 0)
    keys, code = pool.keys, pool.recovery_code
    response = post_json(
        client,
        reverse("reporter:api_join"),
        {
            "code": "ZZZZZZZZZZ",
            "conversation_id": str(uuid.uuid4()),
            "key_id": keys.key_id,
            "kem_public": crypto.b64(keys.kem_public),
            "sig_public": crypto.b64(keys.sig_public),
            "sealed_private": pool.sealed["recovery"],
            "recovery_lookup": crypto.recovery_lookup(code),
        },
    )
    assert response.status_code == 404
    assert not Conversation.objects.exists()


def test_a_rotated_code_admits_no_new_reporter_but_its_conversations_go_on(world, adam, client_for):
    reporter = world.reporter_joins()
    old_code = world.code
    client_for(adam).post(reverse("messaging:code_rotate", args=[world.organisation.pk]))
    world.code = old_code
    with pytest.raises(AssertionError):
        world.reporter_joins()
    sent = world.reporter_message(reporter, "nog steeds hier")
    assert post_json(reporter.client, reverse("reporter:api_messages"), sent).status_code == 201


def test_the_reporter_signs_in_by_key_and_a_wrong_signature_is_refused(world):
    reporter = world.reporter_joins()
    other = crypto.generate_key_set()
    client = Client()
    challenge = client.get(reverse("reporter:api_challenge")).json()
    forged = crypto.sign_login(other.sig, challenge["origin"], challenge["nonce"])
    response = post_json(
        client,
        reverse("reporter:api_session"),
        {
            "key_id": reporter.keys.key_id,
            "nonce": challenge["nonce"],
            "signature": crypto.b64(forged),
        },
    )
    assert response.status_code == 403
    assert client.get(reverse("reporter:api_messages")).status_code == 403


def test_a_challenge_is_used_once(world):
    reporter = world.reporter_joins()
    challenge = reporter.client.get(reverse("reporter:api_challenge")).json()
    signature = crypto.sign_login(reporter.keys.sig, challenge["origin"], challenge["nonce"])
    body = {
        "key_id": reporter.keys.key_id,
        "nonce": challenge["nonce"],
        "signature": crypto.b64(signature),
    }
    assert post_json(Client(), reverse("reporter:api_session"), body).status_code == 200
    assert post_json(Client(), reverse("reporter:api_session"), body).status_code == 403


def test_the_conversation_id_is_no_authorisation(world):
    reporter = world.reporter_joins()
    stranger = Client()
    stranger.cookies["portal_reporter"] = reporter.conversation_id
    assert stranger.get(reverse("reporter:api_messages")).status_code == 403


def test_the_recovery_code_finds_the_sealed_keys_and_opens_them(world):
    reporter = world.reporter_joins()
    response = post_json(
        Client(),
        reverse("reporter:api_recover"),
        {"recovery_lookup": crypto.recovery_lookup(reporter.recovery_code)},
    )
    assert response.status_code == 200
    found = response.json()
    secret = crypto.normalise_recovery_code(reporter.recovery_code)
    opened = crypto.open_private(found["sealed_private"], secret, found["key_id"])
    assert opened.key_id == reporter.keys.key_id


def test_joining_is_rate_limited_per_client(world):
    statuses = []
    for index in range(6):
        pool = pooled("reporter", index)
        keys, code = pool.keys, pool.recovery_code
        statuses.append(
            post_json(
                Client(),
                reverse("reporter:api_join"),
                {
                    "code": world.code,
                    "conversation_id": str(uuid.uuid4()),
                    "key_id": keys.key_id,
                    "kem_public": crypto.b64(keys.kem_public),
                    "sig_public": crypto.b64(keys.sig_public),
                    "sealed_private": pool.sealed["recovery"],
                    "recovery_lookup": crypto.recovery_lookup(code),
                },
            ).status_code
        )
    assert statuses == [201] * 5 + [429]
    assert Conversation.objects.count() == 5


def test_sending_is_rate_limited_per_conversation(world):
    reporter = world.reporter_joins()
    statuses = [
        post_json(
            reporter.client,
            reverse("reporter:api_messages"),
            world.reporter_message(reporter, str(i)),
        ).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [201] * 30 and statuses[30] == 429


def test_weakly_sealed_keys_are_refused_by_the_server_too(clinic_a, cora, client_for):
    keys = crypto.generate_key_set()
    response = post_json(
        client_for(cora),
        reverse("messaging:api_key"),
        {
            "key_id": keys.key_id,
            "kem_public": crypto.b64(keys.kem_public),
            "sig_public": crypto.b64(keys.sig_public),
            "sealed_private": {
                "passphrase": crypto.seal_private(keys, "x", iterations=1000),
                "recovery": crypto.seal_private(keys, "y", iterations=1000),
            },
        },
    )
    assert response.status_code == 400


def test_an_uncertified_counsellor_cannot_send(world, clinic_a, client_for):
    from clinics.models import Role
    from conftest import _staff

    newcomer = _staff(clinic_a, Role.COUNSELLOR, "nieuw@noord.example")
    keys = world.counsellor(newcomer, certify=False)
    reporter = world.reporter_joins()
    answer = crypto.seal_message(
        conversation_id=reporter.conversation_id,
        kind="body",
        sender=keys,
        plain={"v": 1, "body": "x"},
        recipients=reporter.recipients([keys]),
    )
    response = post_json(client_for(newcomer), messages_url_for(reporter), answer)
    assert response.status_code == 403


def test_closing_and_reopening_and_a_reporter_message_reopens(world, cora, client_for):
    reporter = world.reporter_joins()
    counsellor = client_for(cora)
    status_url = reverse("messaging:conversation_status", args=[reporter.conversation_id])
    counsellor.post(status_url, {"status": "closed"})
    assert world.conversation(reporter).status == ConversationStatus.CLOSED
    sent = world.reporter_message(reporter, "nog een vraag")
    post_json(reporter.client, reverse("reporter:api_messages"), sent)
    assert world.conversation(reporter).status == ConversationStatus.OPEN


def test_usage_counts_conversations_and_active_reporters_without_identifiers(world):
    reporters = [world.reporter_joins() for _ in range(2)]
    for reporter in reporters:
        for text in ("a", "b"):
            post_json(
                reporter.client,
                reverse("reporter:api_messages"),
                world.reporter_message(reporter, text),
            )
    [month] = UsageMonth.objects.all()
    assert (month.conversations_started, month.active_reporters) == (2, 2)


def test_the_signed_in_reporter_reaches_only_their_own_conversation(world):
    first, second = world.reporter_joins(), world.reporter_joins()
    post_json(first.client, reverse("reporter:api_messages"), world.reporter_message(first, "een"))
    listing = second.client.get(reverse("reporter:api_messages")).json()
    assert listing["conversation"]["id"] == second.conversation_id
    assert listing["messages"] == []


def test_signing_in_again_after_the_cookie_is_gone(world):
    reporter = world.reporter_joins()
    reporter.client.cookies.clear()
    assert reporter.client.get(reverse("reporter:api_messages")).status_code == 403
    reporter_signs_in(reporter)
    assert reporter.client.get(reverse("reporter:api_messages")).status_code == 200


def test_a_counsellor_who_lost_everything_starts_over_and_must_be_certified_again(
    world, cora, client_for
):
    """A new key set replaces the old one only when asked (`replace`); the old certificate goes
    with it, so nothing is wrapped to the lost key any more and the new one waits for the
    clinic admin."""
    from messaging.models import Certificate, ChatKey
    from messaging.tests.chat_world import pooled

    fresh = pooled("staff", 7)
    body = {
        "key_id": fresh.keys.key_id,
        "kem_public": crypto.b64(fresh.keys.kem_public),
        "sig_public": crypto.b64(fresh.keys.sig_public),
        "sealed_private": fresh.sealed,
    }
    counsellor = client_for(cora)
    assert post_json(counsellor, reverse("messaging:api_key"), body).status_code == 409
    response = post_json(counsellor, reverse("messaging:api_key"), {**body, "replace": True})
    assert response.status_code == 201
    assert ChatKey.objects.get(user=cora).key_id == fresh.keys.key_id
    assert not Certificate.objects.filter(staff_key__user=cora).exists()
    directory = counsellor.get(reverse("messaging:api_directory")).json()
    assert directory["staff"] == []
