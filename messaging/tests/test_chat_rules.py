"""The chat's rules that hold on the server: expired rows are invisible before any purge
(E2EE.md check 9), notification e-mails say nothing and come at most once a quarter hour
(check 11), re-wraps go only to certified keys and a revoked key gets no new wraps (check 12),
and the inbox's query count does not grow with its conversations."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from conftest import _staff
from messaging import crypto, selectors
from messaging.models import Certificate, Conversation, Message, Purpose, Wrap
from messaging.notifications import QUIET_PERIOD, notifications_send_due
from messaging.tests.chat_world import ChatWorld, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clinic_a, adam, cora):
    chat = ChatWorld.make(clinic_a, adam)
    chat.counsellor(cora)
    return chat


def send(world, reporter, text: str):
    response = post_json(
        reporter.client, reverse("reporter:api_messages"), world.reporter_message(reporter, text)
    )
    assert response.status_code == 201, response.content
    return response


def expire(**lookup) -> None:
    """What 32 days do to a row: its expiry passes (the purge has not run)."""
    moment = timezone.now() - datetime.timedelta(seconds=1)
    Message.objects.filter(**lookup).update(expires_at=moment)


def test_an_expired_message_is_returned_by_no_endpoint_before_the_purge(world, cora, client_for):
    """E2EE.md check 9: the reporter's and the counsellor's endpoints and the inbox filter by
    the database clock."""
    reporter = world.reporter_joins()
    send(world, reporter, "oud")
    send(world, reporter, "nieuw")
    old = Message.objects.order_by("created_at").first()
    expire(pk=old.pk)
    counsellor = client_for(cora)
    url = reverse("messaging:api_messages", args=[reporter.conversation_id])
    ids = [m["id"] for m in counsellor.get(url).json()["messages"]]
    assert str(old.pk) not in ids and len(ids) == 1
    mine = reporter.client.get(reverse("reporter:api_messages")).json()["messages"]
    assert [m["id"] for m in mine] == ids
    rewrap = counsellor.get(reverse("messaging:api_rewrap")).json()
    assert str(old.pk) not in str(rewrap)


def test_an_expired_conversation_is_gone_from_every_page(world, cora, client_for):
    """E2EE.md check 9: a conversation whose newest message expired shows nowhere."""
    reporter = world.reporter_joins()
    send(world, reporter, "hallo")
    expire(conversation_id=reporter.conversation_id)
    Conversation.objects.filter(pk=reporter.conversation_id).update(expires_at=F("created_at"))
    counsellor = client_for(cora)
    inbox = counsellor.get(reverse("messaging:api_inbox")).json()
    assert inbox["rows"] == []
    page = counsellor.get(reverse("messaging:conversation", args=[reporter.conversation_id]))
    assert page.status_code == 404
    api = counsellor.get(reverse("messaging:api_messages", args=[reporter.conversation_id]))
    assert api.status_code == 404
    assert reporter.client.get(reverse("reporter:api_messages")).status_code == 403


def test_a_message_written_now_expires_31_days_later_by_the_database_clock(world):
    reporter = world.reporter_joins()
    send(world, reporter, "x")
    message = Message.objects.get()
    assert message.expires_at - message.created_at == datetime.timedelta(days=31)
    conversation = Conversation.objects.get()  # outlives its newest message, by the update's ms
    assert datetime.timedelta(0) <= conversation.expires_at - message.expires_at
    assert conversation.expires_at - message.expires_at < datetime.timedelta(seconds=1)


def test_notification_mails_say_nothing_and_come_once_per_quarter_hour(
    world, cora, django_capture_on_commit_callbacks, monkeypatch
):
    """E2EE.md check 11: a fixed template without content, nickname or organisation; a burst
    of messages gives one e-mail per counsellor, the next only after the quarter hour."""
    sent_tasks = []
    monkeypatch.setattr(
        "messaging.notifications.current_app.send_task", lambda name: sent_tasks.append(name)
    )
    reporter = world.reporter_joins()
    with django_capture_on_commit_callbacks(execute=True):
        for text in ("Canarybody één", "Canarybody twee", "Canarybody drie"):
            send(world, reporter, text)
    assert sent_tasks  # the send is queued after each commit
    assert notifications_send_due() == 1
    assert notifications_send_due() == 0  # nothing waits any more
    [message] = mail.outbox
    assert message.to == [cora.email]
    text = message.subject + message.body
    for secret in ("Canarybody", "Merel", world.organisation.name, world.clinic.name, world.code):
        assert secret not in text
    assert "portal" in text.lower()
    with django_capture_on_commit_callbacks(execute=True):
        send(world, reporter, "nog een")
    assert notifications_send_due() == 0  # within the quarter hour: held back
    later = timezone.now() + QUIET_PERIOD + datetime.timedelta(seconds=1)
    assert notifications_send_due(now=later) == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body == mail.outbox[1].body  # the same fixed text


def test_a_counsellor_message_notifies_nobody(world, cora, client_for, monkeypatch):
    monkeypatch.setattr("messaging.notifications.current_app.send_task", lambda name: None)
    reporter = world.reporter_joins()
    answer = world.counsellor_message(reporter, world.counsellors[cora.pk], "antwoord")
    url = reverse("messaging:api_messages", args=[reporter.conversation_id])
    assert post_json(client_for(cora), url, answer).status_code == 201
    assert notifications_send_due() == 0


def test_rewrap_gives_a_new_counsellor_the_history_and_only_to_certified_keys(
    world, clinic_a, cora, client_for
):
    """E2EE.md check 12: a counsellor's browser (here the twin) opens its wraps and seals the
    content keys to the newly certified key; the newcomer then reads the retained history."""
    reporter = world.reporter_joins()
    send(world, reporter, "Vanaf het begin")
    newcomer = _staff(clinic_a, Role.COUNSELLOR, "nieuw@noord.example")
    new_keys = world.counsellor(newcomer)
    cora_keys = world.counsellors[cora.pk]
    work = client_for(cora).get(reverse("messaging:api_rewrap")).json()
    [item] = work["work"]
    assert item["recipient_key_id"] == new_keys.key_id
    target = next(c for c in work["directory"]["staff"] if c["key_id"] == new_keys.key_id)
    assert crypto.verify_certificate(
        world.clinic_key.sig_public,
        world.clinic_key.key_id,
        target["key_id"],
        Purpose.COUNSELLOR,
        crypto.unb64(target["certificate"]),
    )
    wraps = {
        row["id"]: crypto.rewrap(
            conversation_id=row["conversation_id"],
            row=row,
            me=cora_keys,
            new_recipient=crypto.Recipient(key_id=new_keys.key_id, kem_public=new_keys.kem_public),
        )
        for row in item["messages"]
    }
    response = post_json(
        client_for(cora),
        reverse("messaging:api_rewrap"),
        {"recipient_key_id": new_keys.key_id, "wraps": wraps},
    )
    assert response.json() == {"added": 1}
    rows = (
        client_for(newcomer)
        .get(reverse("messaging:api_messages", args=[reporter.conversation_id]))
        .json()["messages"]
    )
    opened = crypto.open_message(
        conversation_id=reporter.conversation_id,
        row=rows[0],
        me=new_keys,
        sender=reporter.keys.public,
    )
    assert opened["body"] == "Vanaf het begin"
    stranger = crypto.generate_key_set()
    refused = post_json(
        client_for(cora),
        reverse("messaging:api_rewrap"),
        {"recipient_key_id": stranger.key_id, "wraps": wraps},
    )
    assert refused.status_code == 403


def test_a_revoked_key_gets_no_new_wraps(world, clinic_a, cora, adam, client_for):
    """E2EE.md check 12: after revocation the key is no longer listed, and a message wrapped
    to it anyway is refused."""
    leaving = _staff(clinic_a, Role.COUNSELLOR, "weg@noord.example")
    leaving_keys = world.counsellor(leaving)
    certificate = Certificate.objects.get(staff_key__user=leaving)
    client_for(adam).post(reverse("messaging:certificate_revoke", args=[certificate.pk]))
    directory = client_for(cora).get(reverse("messaging:api_directory")).json()
    assert leaving_keys.key_id not in {c["key_id"] for c in directory["staff"]}
    reporter = world.reporter_joins()
    still_wrapped = world.reporter_message(reporter, "x")  # world still lists the old key
    response = post_json(reporter.client, reverse("reporter:api_messages"), still_wrapped)
    assert response.status_code == 403
    del world.counsellors[leaving.pk]
    send(world, reporter, "na het vertrek")
    assert not Wrap.objects.filter(recipient_key_id=leaving_keys.key_id).exists()


def test_the_inbox_query_count_does_not_grow_with_conversations(world, cora, client_for):
    counsellor = client_for(cora)
    url = reverse("messaging:api_inbox")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert counsellor.get(url).status_code == 200
        return len(captured)

    reporter = world.reporter_joins()
    send(world, reporter, "een")
    few = queries()
    for _ in range(4):
        send(world, world.reporter_joins(), "meer")
    assert queries() == few
    assert len(selectors.inbox(world.clinic, cora, world.organisation, "open",
                               key_id=world.counsellors[cora.pk].key_id)) == 5  # fmt: skip


def test_the_demo_conversations_open_with_the_written_chat_passphrase(db, settings, tmp_path):
    """seed_demo's counsellor reads the demo conversations with the passphrase it wrote to
    demo-credentials.json; the reporter joins with the written org_code."""
    import json

    from django.core.management import call_command

    from messaging.demo import CONVERSATIONS
    from messaging.models import ChatKey

    settings.DEMO = True
    out = tmp_path / "logins.json"
    call_command("seed_demo", "--credentials-out", str(out))
    counsellor = next(c for c in json.loads(out.read_text()) if c["role"] == "counsellor")
    assert counsellor["org_code"] in counsellor["join_link"]
    stored = ChatKey.objects.get(user__email=counsellor["email"])
    keys = crypto.open_private(
        stored.sealed_private["passphrase"], counsellor["chat_passphrase"], stored.key_id
    )
    conversations = Conversation.objects.filter(join_code__code=counsellor["org_code"])
    nicknames = set()
    for conversation in conversations:
        rows = selectors.conversation_messages(
            conversation, key_id=keys.key_id, since=None, with_notes=True
        )
        reporter = crypto.PublicKeySet(
            bytes(conversation.reporter_kem_public), bytes(conversation.reporter_sig_public)
        )
        for row in rows:
            sender = reporter if row["from_reporter"] else keys.public
            plain = crypto.open_message(
                conversation_id=str(conversation.pk), row=row, me=keys, sender=sender
            )
            nicknames.add(plain.get("nickname"))
    assert {n for n, _ in CONVERSATIONS} <= nicknames
    join = Client().get(reverse("reporter:api_code"), {"code": counsellor["org_code"]})
    assert join.status_code == 200
    assert join.json()["clinic_key"]["key_id"] in counsellor["join_link"]
