"""The reporter's side of the counsellor chat: public pages (no account, no e-mail, no name)
and the JSON endpoints their browser uses. A reporter is known only by the key their browser
holds: they sign in by signing a fresh challenge (messaging.http), never by an id.

Join and send are rate-limited per code, per conversation and per client address, so that a
code on a poster cannot be used to flood the counsellors.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from clinics.access import public
from messaging import crypto, payloads, selectors, services
from messaging.http import (
    challenge_new,
    challenge_take,
    client_key,
    json_endpoint,
    limit,
    origin_of,
    reporter_conversation,
    reporter_session_end,
    reporter_session_set,
)
from messaging.models import Conversation, JoinCode
from messaging.sealed import Sender

JOIN_RATE_PER_CODE = "30/h"
JOIN_RATE_PER_CLIENT = "5/h"
SEND_RATE_PER_CONVERSATION = "30/m"
SEND_RATE_PER_CLIENT = "60/m"
SIGN_IN_RATE_PER_CLIENT = "30/m"


@public
@ensure_csrf_cookie
def join(request: HttpRequest) -> HttpResponse:
    """The QR link's page (the code in the query, the clinic key's fingerprint in the fragment)
    or the page to type a code; the browser does the rest."""
    return render(request, "messaging/reporter/join.html", {"code": request.GET.get("code", "")})


@public
@ensure_csrf_cookie
def chat(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/reporter/chat.html")


@json_endpoint
@require_GET
@public
def api_code(request: HttpRequest) -> HttpResponse:
    """What a code's reporter needs before joining: whom they write to and the keys to trust."""
    limit(request, "reporter-code", client_key(request), SIGN_IN_RATE_PER_CLIENT)
    join_code = (
        JoinCode.objects.admitting()
        .select_related("organisation")
        .filter(code=services.normalise_code(request.GET.get("code", "")))
        .first()
    )
    if join_code is None:
        raise payloads.Refused(_("This code is not valid (any more). Check it on the poster."), 404)
    return JsonResponse(
        {
            "code": join_code.code,
            "organisation": join_code.organisation.name,
            **selectors.key_directory(join_code.clinic_id),
        }
    )


@json_endpoint
@require_POST
@public
def api_join(request: HttpRequest) -> HttpResponse:
    data = payloads.json_of(request)
    code = services.normalise_code(str(data.get("code", "")))
    limit(request, "reporter-join-code", code, JOIN_RATE_PER_CODE)
    limit(request, "reporter-join-client", client_key(request), JOIN_RATE_PER_CLIENT)
    recovery = data.get("sealed_private")
    key_set = payloads.KeySetIn(
        key_id=payloads.key_id(data, "key_id"),
        kem_public=payloads.binary(data, "kem_public", size=payloads.PUBLIC_KEY_BYTES),
        sig_public=payloads.binary(data, "sig_public", size=payloads.PUBLIC_KEY_BYTES),
        sealed={"recovery": payloads.sealed_private({"s": recovery}, "s")},
    )
    conversation = services.conversation_join(
        code=code,
        conversation_id=payloads.an_uuid(data, "conversation_id"),
        key=key_set,
        recovery_lookup=payloads.lookup(data, "recovery_lookup"),
    )
    return JsonResponse({"conversation_id": str(conversation.pk)}, status=201)


@json_endpoint
@require_GET
@public
def api_challenge(request: HttpRequest) -> HttpResponse:
    limit(request, "reporter-sign-in", client_key(request), SIGN_IN_RATE_PER_CLIENT)
    return JsonResponse({**challenge_new(), "origin": origin_of(request)})


@json_endpoint
@require_POST
@public
def api_session(request: HttpRequest) -> HttpResponse:
    """Sign in: the browser signed the challenge with the key it registered when joining."""
    limit(request, "reporter-sign-in", client_key(request), SIGN_IN_RATE_PER_CLIENT)
    data = payloads.json_of(request)
    reporter_key_id = payloads.key_id(data, "key_id")
    signature = payloads.binary(data, "signature", size=payloads.SIGNATURE_BYTES)
    nonce = challenge_take(str(data.get("nonce", "")))
    conversation = Conversation.objects.live().filter(reporter_key_id=reporter_key_id).first()
    valid = conversation is not None and crypto.verify_login(
        bytes(conversation.reporter_sig_public), origin_of(request), nonce, signature
    )
    if not valid:
        raise payloads.Refused(_("This browser's key does not open a conversation."), 403)
    response = JsonResponse({"conversation_id": str(conversation.pk)})
    reporter_session_set(response, conversation)
    return response


@json_endpoint
@require_POST
@public
def api_recover(request: HttpRequest) -> HttpResponse:
    """On another device: the recovery code's hash finds the sealed copy of the keys; the
    browser opens it and then signs in like any other time."""
    limit(request, "reporter-sign-in", client_key(request), SIGN_IN_RATE_PER_CLIENT)
    lookup = payloads.lookup(payloads.json_of(request), "recovery_lookup")
    conversation = Conversation.objects.live().filter(recovery_lookup=lookup).first()
    if conversation is None:
        raise payloads.Refused(_("No conversation belongs to this recovery code."), 404)
    return JsonResponse(
        {
            **payloads.public_keys(
                conversation.reporter_key_id,
                conversation.reporter_kem_public,
                conversation.reporter_sig_public,
            ),
            "sealed_private": conversation.sealed_private,
        }
    )


@json_endpoint
@require_POST
@public
def api_sign_out(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"signed_out": True})
    reporter_session_end(response)
    return response


@json_endpoint
@public
def api_messages(request: HttpRequest) -> HttpResponse:
    """GET ?since=: the conversation's messages (never the counsellors' notes). POST: send."""
    conversation = reporter_conversation(request)
    if request.method == "POST":
        limit(request, "reporter-send", str(conversation.pk), SEND_RATE_PER_CONVERSATION)
        limit(request, "reporter-send-client", client_key(request), SEND_RATE_PER_CLIENT)
        message, created = services.message_send(
            conversation=conversation,
            sender=Sender(key_id=conversation.reporter_key_id, from_reporter=True),
            payload=payloads.message(payloads.json_of(request)),
        )
        return JsonResponse({"id": str(message.pk)}, status=201 if created else 200)
    since = payloads.since(request.GET.get("since"))
    rows = selectors.conversation_messages(
        conversation, key_id=conversation.reporter_key_id, since=since, with_notes=False
    )
    services.reporter_mark_read(conversation=conversation)
    return JsonResponse(
        {
            "conversation": {
                "id": str(conversation.pk),
                "organisation": conversation.organisation.name,
                "clinic_id": conversation.clinic_id,
                "key_id": conversation.reporter_key_id,
            },
            **selectors.key_directory(conversation.clinic_id),
            "messages": rows,
            "cursor": payloads.cursor(rows, since),
        }
    )
