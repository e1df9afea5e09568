"""The counsellor chat for staff: the counsellor's key, inbox and conversations, and the clinic
admin's chat key, certificates, organisations, codes and usage. Pages are rendered here; the
browser does all encryption (static/js/e2ee/crypto.js) and talks to the JSON endpoints below.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles
from clinics.models import Membership, Role
from clinics.tenancy import get_for_clinic_or_404
from messaging import payloads, selectors, services
from messaging.http import json_endpoint
from messaging.key_views import key_api, key_page
from messaging.models import (
    ROLE_PURPOSE,
    Certificate,
    ChatKey,
    ClinicChatKey,
    ConversationStatus,
    Organisation,
    Purpose,
)
from messaging.sealed import Sender
from portal.http import posted_data
from portal.qr import qr_svg

counsellor_only = clinic_roles(Role.COUNSELLOR)
admin_only = clinic_roles(Role.CLINIC_ADMIN)


def _counsellor_key(request: HttpRequest) -> tuple[ChatKey | None, bool]:
    """The counsellor's key set and whether the clinic certified it for the chat now."""
    return selectors.key_and_certified(request.membership, Purpose.COUNSELLOR)


# --- the counsellor ----------------------------------------------------------------------------


@counsellor_only
def inbox(request: HttpRequest) -> HttpResponse:
    """Conversations per organisation, open or closed, unread first."""
    clinic, user = request.clinic, request.user
    staff_key, is_certified = _counsellor_key(request)
    if staff_key is None:
        return redirect("messaging:key")
    organisations = list(selectors.organisations(clinic))
    chosen = _chosen_organisation(request, organisations)
    status = request.GET.get("status", ConversationStatus.OPEN)
    if status not in ConversationStatus.values:
        status = ConversationStatus.OPEN
    counts = selectors.inbox_counts(clinic, user)
    rows = selectors.inbox(clinic, user, chosen, status, key_id=staff_key.key_id) if chosen else []
    return render(
        request,
        "messaging/inbox.html",
        {
            "organisations": [(o, counts.get(o.pk, 0)) for o in organisations],
            "chosen": chosen,
            "status": status,
            "statuses": ConversationStatus.choices,
            "rows": rows,
            "staff_key": staff_key,
            "is_certified": is_certified,
        },
    )


def _chosen_organisation(
    request: HttpRequest, organisations: list[Organisation]
) -> Organisation | None:
    wanted = request.GET.get("organisation")
    for organisation in organisations:
        if str(organisation.pk) == wanted:
            return organisation
    return organisations[0] if organisations else None


@counsellor_only
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    found = selectors.live_conversation(request.clinic, conversation_id)
    staff_key = selectors.staff_key_of(request.user)
    if found is None:
        return render(request, "messaging/conversation_gone.html", status=404)
    if staff_key is None:
        return redirect("messaging:key")
    services.conversation_mark_read(conversation=found, user=request.user)
    return render(
        request,
        "messaging/conversation.html",
        {"conversation": found, "staff_key": staff_key, "statuses": ConversationStatus},
    )


@require_POST
@counsellor_only
def conversation_status(request: HttpRequest, conversation_id: str) -> HttpResponse:
    found = selectors.live_conversation(request.clinic, conversation_id)
    if found is None:
        raise Http404
    status = (posted_data(request) or {}).get("status")
    if status in ConversationStatus.values:
        services.conversation_set_status(conversation=found, status=status)
        flash.success(
            request,
            _("The conversation is closed.")
            if status == ConversationStatus.CLOSED
            else _("The conversation is open again."),
        )
    return redirect("messaging:inbox")


@counsellor_only
def key(request: HttpRequest) -> HttpResponse:
    """Set up the chat key once (passphrase and recovery key, in the browser), or unlock it on
    this device, or lock the device."""
    staff_key, is_certified = _counsellor_key(request)
    return key_page(
        request,
        channel="counsellor",
        urls={
            "api_key": reverse("messaging:api_key"),
            "next": reverse("messaging:inbox"),
            "api_directory": reverse("messaging:api_directory"),
        },
        staff_key=staff_key,
        is_certified=is_certified,
    )


@json_endpoint
@counsellor_only
def api_key(request: HttpRequest) -> HttpResponse:
    return key_api(request)


@json_endpoint
@clinic_roles(Role.COUNSELLOR, Role.CLINIC_ADMIN)
def api_directory(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"clinic_id": request.clinic.pk, **selectors.key_directory(request.clinic)})


@json_endpoint
@counsellor_only
def api_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox's rows as JSON, polled by the page every few seconds."""
    clinic, user = request.clinic, request.user
    staff_key = selectors.staff_key_of(user)
    organisations = list(selectors.organisations(clinic))
    chosen = _chosen_organisation(request, organisations)
    status = request.GET.get("status", ConversationStatus.OPEN)
    if staff_key is None or chosen is None or status not in ConversationStatus.values:
        return JsonResponse({"rows": [], "counts": {}})
    rows = selectors.inbox(clinic, user, chosen, status, key_id=staff_key.key_id)
    return JsonResponse(
        {
            "counts": {str(k): v for k, v in selectors.inbox_counts(clinic, user).items()},
            "rows": [
                {
                    "id": str(row.id),
                    "url": reverse("messaging:conversation", args=[row.id]),
                    "status": row.status,
                    "unread": row.unread,
                    "created_at": row.created_at.isoformat(),
                    "last_message_at": row.last_message_at.isoformat(),
                    "latest": row.latest,
                    "reporter_key_id": row.reporter_key_id,
                    "reporter_kem_public": payloads.b64(row.reporter_kem_public),
                    "reporter_sig_public": payloads.b64(row.reporter_sig_public),
                }
                for row in rows
            ],
        }
    )


@json_endpoint
@counsellor_only
def api_messages(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """GET ?since=: the conversation's messages and notes (with my wraps). POST: send one."""
    found = selectors.live_conversation(request.clinic, conversation_id)
    staff_key, is_certified = _counsellor_key(request)
    if found is None or staff_key is None:
        raise payloads.Refused(_("This conversation no longer exists."), 404)
    if request.method == "POST":
        if not is_certified:
            raise payloads.Refused(_("Your chat key is not certified by the clinic yet."), 403)
        message, created = services.message_send(
            conversation=found,
            sender=Sender(key_id=staff_key.key_id, from_reporter=False),
            payload=payloads.message(payloads.json_of(request)),
        )
        services.conversation_mark_read(conversation=found, user=request.user)
        return JsonResponse({"id": str(message.pk)}, status=201 if created else 200)
    since = payloads.since(request.GET.get("since"))
    rows = selectors.conversation_messages(
        found, key_id=staff_key.key_id, since=since, with_notes=True
    )
    if rows:
        services.conversation_mark_read(conversation=found, user=request.user)
    return JsonResponse(
        {
            "conversation": {
                "id": str(found.pk),
                "status": found.status,
                "reporter_key_id": found.reporter_key_id,
                "reporter_kem_public": payloads.b64(found.reporter_kem_public),
                "reporter_sig_public": payloads.b64(found.reporter_sig_public),
            },
            "messages": rows,
            "cursor": payloads.cursor(rows, since),
        }
    )


@json_endpoint
@counsellor_only
def api_rewrap(request: HttpRequest) -> HttpResponse:
    """GET: messages a newly certified colleague cannot open yet. POST: their new wraps."""
    staff_key, is_certified = _counsellor_key(request)
    if not is_certified:
        raise payloads.Refused(_("Your chat key is not certified by the clinic yet."), 403)
    if request.method == "POST":
        recipient, parsed = payloads.rewraps(payloads.json_of(request))
        added = services.wraps_add(clinic=request.clinic, wraps=parsed, recipient_key_id=recipient)
        return JsonResponse({"added": added})
    return JsonResponse(selectors.rewrap_pending(request.clinic, my_key_id=staff_key.key_id))


# --- the clinic admin ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySection:
    purpose: Purpose
    title: str
    person: str
    empty: str
    rows: list[selectors.StaffKeyRow]


@admin_only
def chat_admin(request: HttpRequest) -> HttpResponse:
    """The clinic's chat key, and the keys to certify or revoke: counsellors' for the
    counsellor chat, professionals' and admins' for clinic messages."""
    rows = selectors.staff_key_rows(request.clinic)
    sections = [
        KeySection(
            Purpose.COUNSELLOR,
            _("Counsellors"),
            _("Counsellor"),
            _("The clinic has no counsellors yet."),
            [r for r in rows if r.purpose == Purpose.COUNSELLOR],
        ),
        KeySection(
            Purpose.TEAM,
            _("Clinic team (messages with patients)"),
            _("Team member"),
            _("The clinic has no professionals or admins yet."),
            [r for r in rows if r.purpose == Purpose.TEAM],
        ),
    ]
    return render(
        request,
        "messaging/chat_admin.html",
        {
            "clinic_key": ClinicChatKey.objects.for_clinic(request.clinic).first(),
            "sections": sections,
        },
    )


@json_endpoint
@admin_only
def api_clinic_key(request: HttpRequest) -> HttpResponse:
    """GET: the clinic key (public, sealed private). POST: set it up."""
    if request.method == "POST":
        key_set = payloads.key_set(payloads.json_of(request), with_kem=False)
        clinic_key = services.clinic_key_set_up(
            clinic=request.clinic, actor=request.user, key=key_set
        )
        return JsonResponse({"key_id": clinic_key.key_id}, status=201)
    clinic_key = ClinicChatKey.objects.for_clinic(request.clinic).first()
    if clinic_key is None:
        return JsonResponse({"error": _("The clinic has no chat key yet.")}, status=404)
    return JsonResponse(
        {
            "clinic_id": request.clinic.pk,
            "key_id": clinic_key.key_id,
            "sig_public": payloads.b64(clinic_key.sig_public),
            "sealed_private": clinic_key.sealed_private,
        }
    )


@json_endpoint
@require_POST
@admin_only
def api_certify(request: HttpRequest, staff_key_id: int) -> HttpResponse:
    """Store the clinic key's signature over a staff key set, for the purpose of its holder's
    role here (certificate_issue checks the signature for exactly that purpose)."""
    membership = (
        Membership.objects.active()
        .for_clinic(request.clinic)
        .filter(role__in=list(ROLE_PURPOSE), user__chat_key__pk=staff_key_id)
        .select_related("user__chat_key")
        .first()
    )
    if membership is None:
        raise payloads.Refused(_("This clinic's staff has no such key."), 404)
    staff_key = membership.user.chat_key
    signature = payloads.binary(
        payloads.json_of(request), "certificate", size=payloads.SIGNATURE_BYTES
    )
    certificate = services.certificate_issue(
        clinic=request.clinic,
        actor=request.user,
        staff_key=staff_key,
        signature=signature,
        purpose=ROLE_PURPOSE[membership.role],
    )
    return JsonResponse({"certified": staff_key.key_id, "purpose": certificate.purpose}, status=201)


@json_endpoint
@admin_only
def api_certify_list(request: HttpRequest) -> HttpResponse:
    """Keys waiting for a certificate, each with the purpose to sign for (its holder's role)
    and its public keys, so the browser checks the key id before it signs."""
    return JsonResponse(
        {
            "keys": [
                {
                    "id": row.staff_key.pk,
                    "purpose": row.purpose,
                    **payloads.public_keys(
                        row.staff_key.key_id, row.staff_key.kem_public, row.staff_key.sig_public
                    ),
                }
                for row in selectors.staff_key_rows(request.clinic)
                if row.is_waiting
            ]
        }
    )


@require_POST
@admin_only
def certificate_revoke(request: HttpRequest, certificate_id: int) -> HttpResponse:
    certificate = get_for_clinic_or_404(Certificate, request.clinic, pk=certificate_id)
    services.certificate_revoke(certificate=certificate)
    flash.success(
        request,
        _("The counsellor's key is revoked: it gets no new messages.")
        if certificate.purpose == Purpose.COUNSELLOR
        else _("The team member's key is revoked: it gets no new clinic messages."),
    )
    return redirect("messaging:chat_admin")


@admin_only
def organisations(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            organisation = services.organisation_create(
                clinic=request.clinic, name=(posted_data(request) or {}).get("name", "")
            )
        except payloads.Refused as refused:
            error = refused.messages[0]
        else:
            return redirect("messaging:organisation", organisation_id=organisation.pk)
    return render(
        request,
        "messaging/organisations.html",
        {"organisations": selectors.organisations(request.clinic), "error": error},
    )


def _join_link(request: HttpRequest, code: str, fingerprint: str | None) -> str:
    link = request.build_absolute_uri(reverse("reporter:join")) + f"?code={code}"
    return link + (f"#k={fingerprint}" if fingerprint else "")


def _organisation_context(request: HttpRequest, organisation_id: int) -> dict:
    organisation = get_for_clinic_or_404(Organisation, request.clinic, pk=organisation_id)
    code = organisation.join_codes.admitting().first()
    clinic_key = ClinicChatKey.objects.for_clinic(request.clinic).first()
    fingerprint = clinic_key.key_id if clinic_key else None
    return {
        "organisation": organisation,
        "code": code,
        "clinic_key": clinic_key,
        "link": _join_link(request, code.code, fingerprint) if code else None,
        "retired": organisation.join_codes.exclude(retired_at=None),
    }


@admin_only
def organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    return render(
        request, "messaging/organisation.html", _organisation_context(request, organisation_id)
    )


@admin_only
def organisation_poster(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """A page to print: the QR code, the code typed out and what a reporter can expect."""
    return render(
        request,
        "messaging/organisation_poster.html",
        _organisation_context(request, organisation_id),
    )


@admin_only
def organisation_qr(request: HttpRequest, organisation_id: int) -> HttpResponse:
    context = _organisation_context(request, organisation_id)
    if context["link"] is None:
        return HttpResponse(status=404)
    return HttpResponse(qr_svg(context["link"], box_size=10), content_type="image/svg+xml")


@require_POST
@admin_only
def code_rotate(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_for_clinic_or_404(Organisation, request.clinic, pk=organisation_id)
    services.join_code_rotate(organisation=organisation)
    flash.success(request, _("A new code is ready; the old one admits no new reporters."))
    return redirect("messaging:organisation", organisation_id=organisation.pk)


@require_POST
@admin_only
def code_close(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_for_clinic_or_404(Organisation, request.clinic, pk=organisation_id)
    services.join_code_close(organisation=organisation)
    flash.success(request, _("The code is closed: no new reporters can join."))
    return redirect("messaging:organisation", organisation_id=organisation.pk)


@admin_only
def usage(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/usage.html",
        {
            "organisations": selectors.usage(request.clinic),
            "minimum": selectors.USAGE_MINIMUM_REPORTERS,
        },
    )
