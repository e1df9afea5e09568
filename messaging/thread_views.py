"""Clinic messages' pages and JSON endpoints: the patient's thread with their clinic, the team
inbox and a patient's thread for the clinic's professionals and admins, and each person's chat
key. Pages are rendered here; the browser does all encryption (static/js/chat/thread.js).

How a view reaches a thread, declared once per view (patients.record_access):
- the patient's pages name their record (`own_record`);
- the team's thread page, its attachment download and its status and assignment forms name the
  patient record (`staff_record`, part MESSAGES): each request is one access-log entry, which
  the patient sees in "who looked at my record";
- the team inbox names the patients it shows (`staff_patient_list`), one entry per patient;
- the thread page's JSON endpoint, polled every few seconds while it is open, is addressed by
  the thread's random id within the member's clinic (another clinic's thread is a 404) and is
  not logged again: opening the page was the access. The inbox's poll answers only a digest
  that changes when the inbox would (no name, no count of anyone's messages).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import messages as flash
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles
from clinics.models import AccessPart
from messaging import payloads, selectors, thread_selectors, thread_services
from messaging.http import json_endpoint
from messaging.key_views import key_api, key_page
from messaging.models import (
    PURPOSE_ROLES,
    ChatKey,
    ClinicMessage,
    Purpose,
    Thread,
    ThreadStatus,
)
from messaging.payloads import MessageIn
from messaging.sealed import Sender
from patients.record_access import (
    Scope,
    own_record,
    patient_only,
    staff_patient_list,
    staff_record,
)
from portal import private_files
from portal.http import posted_data
from portal.personal_data import declaration_for

TEAM_ROLES = PURPOSE_ROLES[Purpose.TEAM]  # the professionals and the clinic's admins
team_only = clinic_roles(*TEAM_ROLES)
team_record = staff_record(*TEAM_ROLES, part=AccessPart.MESSAGES)


# --- the patient ---------------------------------------------------------------------------------


@patient_only
def my_key(request: HttpRequest) -> HttpResponse:
    """The patient sets up their chat key once, unlocks it on a device, or starts over."""
    records = list(request.user.patient_records.order_by("pk"))
    after = request.GET.get("record")
    record = next((r for r in records if str(r.pk) == after), records[0])
    return key_page(
        request,
        channel="patient",
        urls={
            "api_key": reverse("clinic_messages:my_api_key"),
            "next": reverse("clinic_messages:my_thread", args=[record.pk]),
            "api_directory": "",
        },
        staff_key=selectors.staff_key_of(request.user),
    )


@json_endpoint
@patient_only
def my_api_key(request: HttpRequest) -> HttpResponse:
    return key_api(request)


@own_record
def my_thread(request: HttpRequest, scope: Scope) -> HttpResponse:
    my_key = selectors.staff_key_of(request.user)
    if my_key is None:
        return redirect(reverse("clinic_messages:my_key") + f"?record={scope.patient.pk}")
    thread = thread_services.thread_open(scope.patient)
    thread_services.patient_mark_read(thread=thread)
    return _thread_page(
        request,
        thread,
        role="patient",
        patient=scope.patient,
        clinic=scope.patient.clinic,
        my_key=my_key,
        urls={
            "api_key": reverse("clinic_messages:my_api_key"),
            "api_messages": reverse("clinic_messages:my_api_messages", args=[scope.patient.pk]),
            "api_directory": reverse("clinic_messages:my_api_directory", args=[scope.patient.pk]),
            "attachment": reverse(
                "clinic_messages:my_attachment", args=[scope.patient.pk, uuid.UUID(int=0)]
            ),
            "key": reverse("clinic_messages:my_key") + f"?record={scope.patient.pk}",
        },
        retention_days=declaration_for(ClinicMessage).retention.days,
    )


def _thread_page(
    request: HttpRequest, thread: Thread, *, role: str, urls: dict, **context: object
) -> HttpResponse:
    """A thread's page, the patient's or the team's (templates/messaging/thread.html; `role`
    tells static/js/chat/thread.js which side it is on)."""
    return render(
        request,
        "messaging/thread.html",
        {
            "role": role,
            "thread": thread,
            "urls": urls,
            "max_attachment_mb": thread_services.ATTACHMENT_MAX_PLAIN_BYTES // (1024 * 1024),
            **context,
        },
    )


@json_endpoint
@own_record
def my_api_directory(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The record's clinic's team keys and their certificates, for the patient's browser."""
    clinic = scope.patient.clinic
    return JsonResponse({"clinic_id": clinic.pk, **selectors.key_directory(clinic, Purpose.TEAM)})


@json_endpoint
@own_record
def my_api_messages(request: HttpRequest, scope: Scope) -> HttpResponse:
    """GET ?since=: the thread's messages (with my wraps). POST: send one (JSON, or multipart
    with the encrypted attachment)."""
    my_key = selectors.staff_key_of(request.user)
    if my_key is None:
        raise payloads.Refused(_("Set up your chat key first."), 409)
    thread = thread_services.thread_open(scope.patient)
    if request.method == "POST":
        payload, attachment = _message_posted(request)
        return _sent(
            thread,
            Sender(key_id=my_key.key_id, from_reporter=True),
            payload,
            attachment,
            then=lambda: thread_services.patient_mark_read(thread=thread),
        )
    rows = _rows(request, thread, my_key)
    if rows:
        thread_services.patient_mark_read(thread=thread)
    return _messages_json(request, thread, rows)


@own_record
def my_attachment(request: HttpRequest, scope: Scope, message_id: uuid.UUID) -> HttpResponse:
    thread = getattr(scope.patient, "message_thread", None)
    return _attachment(request, thread, message_id)


# --- the clinic's team ---------------------------------------------------------------------------


def _team_key(request: HttpRequest) -> tuple[ChatKey | None, bool]:
    """The member's key set and whether the clinic certified it for clinic messages now."""
    return selectors.key_and_certified(request.membership, Purpose.TEAM)


@team_only
def team_key(request: HttpRequest) -> HttpResponse:
    my_key, is_certified = _team_key(request)
    return key_page(
        request,
        channel="team",
        urls={
            "api_key": reverse("clinic_messages:team_api_key"),
            "next": reverse("clinic_messages:team_inbox"),
            "api_directory": reverse("clinic_messages:team_api_directory"),
        },
        staff_key=my_key,
        is_certified=is_certified,
    )


@json_endpoint
@team_only
def team_api_key(request: HttpRequest) -> HttpResponse:
    return key_api(request)


@json_endpoint
@team_only
def team_api_directory(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {"clinic_id": request.clinic.pk, **selectors.key_directory(request.clinic, Purpose.TEAM)}
    )


@staff_patient_list(*TEAM_ROLES, part=lambda request: AccessPart.MESSAGES)
def team_inbox(request: HttpRequest) -> HttpResponse:
    """The clinic's threads: unread first, by patient name, assigned to me, open or handled."""
    wanted = thread_selectors.TeamInboxFilter.from_query(request.GET)
    page = thread_selectors.team_inbox(request.clinic, request.user, wanted)
    my_key, is_certified = _team_key(request)
    return TemplateResponse(
        request,
        "messaging/team_inbox.html",
        {
            "page": page,
            "wanted": wanted,
            "statuses": ThreadStatus.choices,
            "patients_shown": list(page),
            "my_key": my_key,
            "is_certified": is_certified,
            "fingerprint": thread_selectors.page_fingerprint(page),
            "query": _without_page(request),
            "poll_query": request.GET.urlencode(),
        },
    )


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@json_endpoint
@team_only
def team_api_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox's poll: a digest that changes when the page would. No names."""
    wanted = thread_selectors.TeamInboxFilter.from_query(request.GET)
    return JsonResponse(
        {
            "fingerprint": thread_selectors.team_inbox_fingerprint(
                request.clinic, request.user, wanted
            )
        }
    )


@team_record
def team_thread(request: HttpRequest, scope: Scope) -> HttpResponse:
    """A patient's thread, for the clinic's team (from the inbox or the patient's record)."""
    my_key, is_certified = _team_key(request)
    if my_key is None:
        return redirect("clinic_messages:team_key")
    patient = scope.patient
    thread = thread_services.thread_open(patient)
    thread_services.thread_mark_read(thread=thread, user=request.user)
    return _thread_page(
        request,
        thread,
        role="team",
        patient=patient,
        clinic=request.clinic,
        my_key=my_key,
        is_certified=is_certified,
        patient_key=thread_services.patient_key_of(patient),
        team=[m.user for m in thread_selectors.team_members(request.clinic)],
        statuses=ThreadStatus,
        urls={
            "api_key": reverse("clinic_messages:team_api_key"),
            "api_messages": reverse("clinic_messages:team_api_messages", args=[thread.pk]),
            "api_directory": reverse("clinic_messages:team_api_directory"),
            "api_rewrap": reverse("clinic_messages:team_api_rewrap"),
            "attachment": reverse(
                "clinic_messages:team_attachment", args=[patient.pk, uuid.UUID(int=0)]
            ),
            "key": reverse("clinic_messages:team_key"),
        },
    )


@require_POST
@team_record
def team_thread_status(request: HttpRequest, scope: Scope) -> HttpResponse:
    thread = _live_thread_of(scope)
    status = (posted_data(request) or {}).get("status")
    if status in ThreadStatus.values:
        thread_services.thread_set_status(thread=thread, status=status)
        flash.success(
            request,
            _("The thread is marked as handled.")
            if status == ThreadStatus.HANDLED
            else _("The thread is open again."),
        )
    return redirect("clinic_messages:team_thread", patient_id=scope.patient.pk)


@require_POST
@team_record
def team_thread_assign(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Assign the thread to a member of the team (an active professional or admin of this
    clinic), or to nobody."""
    thread = _live_thread_of(scope)
    wanted = (posted_data(request) or {}).get("assigned_to", "")
    assignee = None
    if wanted:
        members = thread_selectors.team_members(request.clinic)
        membership = members.filter(user_id=wanted if wanted.isdigit() else None).first()
        if membership is None:
            flash.error(request, _("Choose a member of the clinic's team."))
            return redirect("clinic_messages:team_thread", patient_id=scope.patient.pk)
        assignee = membership.user
    thread_services.thread_assign(thread=thread, user=assignee)
    flash.success(request, _("The thread's assignment is saved."))
    return redirect("clinic_messages:team_thread", patient_id=scope.patient.pk)


def _live_thread_of(scope: Scope) -> Thread:
    thread = Thread.objects.live().filter(patient=scope.patient).first()
    if thread is None:
        raise Http404
    return thread


@json_endpoint
@team_only
def team_api_messages(request: HttpRequest, thread_id: uuid.UUID) -> HttpResponse:
    """GET ?since=: a thread's messages (with my wraps). POST: send one (JSON, or multipart
    with the encrypted attachment). Another clinic's thread is a 404."""
    thread = thread_selectors.live_thread(request.clinic, thread_id)
    my_key, is_certified = _team_key(request)
    if thread is None or my_key is None:
        raise payloads.Refused(_("This thread does not exist."), 404)
    if request.method == "POST":
        if not is_certified:
            raise payloads.Refused(_("Your chat key is not certified by the clinic yet."), 403)
        payload, attachment = _message_posted(request)
        return _sent(
            thread,
            Sender(key_id=my_key.key_id, from_reporter=False),
            payload,
            attachment,
            then=lambda: thread_services.thread_mark_read(thread=thread, user=request.user),
        )
    rows = _rows(request, thread, my_key)
    if rows:
        thread_services.thread_mark_read(thread=thread, user=request.user)
    return _messages_json(request, thread, rows)


@team_record
def team_attachment(request: HttpRequest, scope: Scope, message_id: uuid.UUID) -> HttpResponse:
    thread = getattr(scope.patient, "message_thread", None)
    return _attachment(request, thread, message_id)


@json_endpoint
@team_only
def team_api_rewrap(request: HttpRequest) -> HttpResponse:
    """GET: messages a newly certified colleague cannot open yet. POST: their new wraps."""
    my_key, is_certified = _team_key(request)
    if not is_certified:
        raise payloads.Refused(_("Your chat key is not certified by the clinic yet."), 403)
    if request.method == "POST":
        recipient, wraps = payloads.rewraps(payloads.json_of(request))
        added = thread_services.team_wraps_add(
            clinic_id=request.clinic.pk, wraps=wraps, recipient_key_id=recipient
        )
        return JsonResponse({"added": added})
    return JsonResponse(
        thread_selectors.team_rewrap_pending(request.clinic, my_key_id=my_key.key_id)
    )


# --- shared by both sides ----------------------------------------------------------------------


def _message_posted(request: HttpRequest) -> tuple[MessageIn, UploadedFile | None]:
    """The message as JSON, or as a multipart form: its JSON in `message` and the encrypted
    attachment in the file `attachment`."""
    if request.content_type == "multipart/form-data":
        raw = request.POST.get("message", "")
        return payloads.message(payloads.load_json(raw.encode())), request.FILES.get("attachment")
    return payloads.message(payloads.json_of(request)), None


def _sent(
    thread: Thread,
    sender: Sender,
    payload: MessageIn,
    attachment: UploadedFile | None,
    *,
    then: Callable[[], None],
) -> JsonResponse:
    message, created = thread_services.clinic_message_send(
        thread=thread, sender=sender, payload=payload, attachment=attachment
    )
    then()
    return JsonResponse({"id": str(message.pk)}, status=201 if created else 200)


def _rows(request: HttpRequest, thread: Thread, my_key: ChatKey) -> list[dict]:
    since = payloads.since(request.GET.get("since"))
    return thread_selectors.thread_messages(thread, key_id=my_key.key_id, since=since)


def _messages_json(request: HttpRequest, thread: Thread, rows: list[dict]) -> JsonResponse:
    patient_key = thread_services.patient_key_of(thread.patient)
    return JsonResponse(
        {
            "thread": {
                "id": str(thread.pk),
                "status": thread.status,
                "patient_key": None
                if patient_key is None
                else payloads.public_keys(
                    patient_key.key_id, patient_key.kem_public, patient_key.sig_public
                ),
                # Keys the patient replaced: what they signed before is still checked.
                "patient_keys_before": [
                    payloads.public_keys(k.key_id, k.kem_public, k.sig_public)
                    for k in thread_selectors.retired_keys_of(thread.patient)
                ],
            },
            "messages": rows,
            "cursor": payloads.cursor(rows, payloads.since(request.GET.get("since"))),
        }
    )


def _attachment(request: HttpRequest, thread: Thread | None, message_id: uuid.UUID) -> HttpResponse:
    """The attachment's ciphertext, as stored: opaque bytes the browser decrypts."""
    message: ClinicMessage | None = (
        thread_selectors.thread_message(thread, message_id) if thread is not None else None
    )
    if message is None or not message.attachment:
        raise Http404
    return private_files.file_response(
        request=request,
        name=message.attachment,
        filename=f"{message.pk}.bin",
        content_type=private_files.OCTET_STREAM,
    )
