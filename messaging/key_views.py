"""A person's chat key, the same for every channel (a person has one key set): the JSON endpoint
that sets it up, starts over or hands it out, and the page that does it in the browser
(templates/messaging/key.html, static/js/chat/key.js). Each channel's views wrap these in
their own access policy: the counsellor's in messaging.views, the team's and the patient's in
messaging.thread_views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from messaging import payloads, selectors, services
from messaging.models import ChatKey


def key_api(request: HttpRequest) -> JsonResponse:
    """GET: the signed-in person's key set (public keys, sealed private copies). POST: set it
    up, or with `replace` start over with a new one. The same for every channel: a person has
    one key set."""
    if request.method == "POST":
        data = payloads.json_of(request)
        key_set = payloads.key_set(data)
        if data.get("replace") is True:
            chat_key = services.staff_key_replace(user=request.user, key=key_set)
        else:
            chat_key = services.staff_key_set_up(user=request.user, key=key_set)
        return JsonResponse(_key_json(chat_key), status=201)
    chat_key = selectors.staff_key_of(request.user)
    if chat_key is None:
        return JsonResponse({"error": _("You have no chat key yet.")}, status=404)
    return JsonResponse(_key_json(chat_key))


def _key_json(chat_key: ChatKey) -> dict:
    return {
        **payloads.public_keys(chat_key.key_id, chat_key.kem_public, chat_key.sig_public),
        "sealed_private": chat_key.sealed_private,
    }


def key_page(
    request: HttpRequest,
    *,
    channel: str,
    urls: dict,
    staff_key: ChatKey | None,
    is_certified: bool = False,
) -> HttpResponse:
    """The key page of a channel: `staff_key` is the person's key set (None before set-up),
    `is_certified` whether the channel's clinic certified it (patients' keys are not)."""
    return render(
        request,
        "messaging/key.html",
        {
            "staff_key": staff_key,
            "is_certified": is_certified,
            "channel": channel,
            "urls": urls,
        },
    )
