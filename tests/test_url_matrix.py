"""Generated access tests over every URL of the resolver (SECURITY.md T01, T02, T16, T18, T19,
T30, T31).

The URL list comes from `tests.url_walk.walk_routes()`, never from a hand-written list, so a new
route is covered the day it is added. Reviewed registries below make a new route force a
decision, failing with a message that names what to add:
- `PARAMETERS`: how to build a clinic A and a clinic B value for every URL parameter name;
- `PUBLIC`: the views an anonymous visitor may use (T01);
- `MATRIX`: for every view, the roles allowed to see it (T18).
The admin site is one group (`admin:*`): T01 walks all of its URLs, the other tests a reviewed
set of representatives (`ADMIN_REPRESENTATIVES`), since one gate (portal.admin) guards them all.

Speed: the people, objects and signed-in sessions are made once per module inside a transaction
that is rolled back at the end (Django's setUpTestData pattern; pytest-django's `db` fixture
nests each test in a savepoint), so a test costs only its requests.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from pytest_django import DjangoDbBlocker

from appointments.models import Appointment, CalendarFeed
from clinics.mfa import MFA_EXEMPT_URL_NAMES
from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import (
    AccessAction,
    AccessLogEntry,
    Clinic,
    Membership,
    Role,
    StaffInvitation,
    User,
    token_digest,
)
from clinics.services import invitation_new_token
from clinics.tests.factories import (
    ClinicFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from conftest import login
from documents.models import RecordDocument
from exercises import services as exercise_services
from exercises.base_library import base_library_ensure
from exercises.models import (
    Exercise,
    ExerciseLog,
    ExerciseMedia,
    Program,
    ProgramItem,
    ProgramTemplate,
    ProgramVersion,
    SessionLog,
    TemplateItem,
)
from messaging.models import (
    Certificate,
    ChatKey,
    ClinicChatKey,
    ClinicMessage,
    Conversation,
    JoinCode,
    Organisation,
    Purpose,
    Thread,
)
from patients.models import (
    Alert,
    ImportBatch,
    ImportStatus,
    Patient,
    PatientInvitation,
    PatientNameToken,
    ThresholdRule,
)
from patients.tests.factories import PatientFactory
from tests.url_walk import Route, walk_routes

Side = Literal["a", "b"]

ROUTES: list[Route] = walk_routes()
SENTINELS = ("Sentinelia", "Zuidkant", "Fysio Zuid")
CSRF_SECRET = "urlmatrixcsrfsecret0123456789abc"  # 32 characters: Django's unmasked secret form
USER_AGENT = "url-matrix-test/1.0"


# --- the people and objects every generated test works with ------------------------------------


@dataclass(frozen=True)
class ChatObjects:
    """A clinic's counsellor chat: its organisation, a conversation, a counsellor's certified
    key (rows as the server keeps them; nothing here is decrypted)."""

    organisation: Organisation
    conversation: Conversation
    staff_key: ChatKey
    certificate: Certificate


@dataclass
class World:
    """The conftest cast (same names, clinics and roles), plus what the URLs need."""

    clinic_a: Clinic
    clinic_b: Clinic
    alice: User  # professional, A
    adam: User  # clinic admin, A
    cora: User  # counsellor, A
    paul: User  # patient of A (A requires patient MFA)
    patient_a: Patient
    charlie: User  # professional, B
    bea: User  # clinic admin, B
    patient_b: Patient  # "Sentinelia Zuidkant"
    oscar: User  # superuser
    nina: User  # professional, A, no authenticator enrolled yet
    petra: User  # patient of "Fysio Oost", which does not require patient MFA
    staff_tokens: dict[str, str] = field(default_factory=dict)
    patient_tokens: dict[str, str] = field(default_factory=dict)
    confirm_keys: dict[str, str] = field(default_factory=dict)
    batches: dict[str, ImportBatch] = field(default_factory=dict)
    patient_rules: dict[str, ThresholdRule] = field(default_factory=dict)
    clinic_rules: dict[str, ThresholdRule] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    sessions: dict[tuple[int, bool], str] = field(default_factory=dict)
    chats: dict[str, ChatObjects] = field(default_factory=dict)
    threads: dict[str, Thread] = field(default_factory=dict)
    thread_messages: dict[str, ClinicMessage] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    exercise_templates: dict[str, ProgramTemplate] = field(default_factory=dict)
    # A photo of each clinic's own exercise, which each clinic's patient's program prescribes.
    exercise_media: dict[str, ExerciseMedia] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    # Record documents: one the patient uploaded (Paul's, in A) and one by the staff.
    documents: dict[str, RecordDocument] = field(default_factory=dict)
    staff_documents: dict[str, RecordDocument] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    feed_tokens: dict[str, str] = field(default_factory=dict)

    def clinic(self, side: Side) -> Clinic:
        return self.clinic_a if side == "a" else self.clinic_b

    def professional(self, side: Side) -> User:
        return self.alice if side == "a" else self.charlie

    def patient(self, side: Side) -> Patient:
        return self.patient_a if side == "a" else self.patient_b

    def membership(self, side: Side) -> Membership:
        """A membership an admin could change: Cora's in A, Bea's in B (read fresh)."""
        return Membership.objects.get(user=self.cora if side == "a" else self.bea)

    def client(self, user: User, *, verified: bool = True) -> Client:
        """A browser signed in as `user` (past the second factor when verified), CSRF on."""
        client = enforce_csrf(Client())
        client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[(user.pk, verified)]
        return client


def _staff(clinic: Clinic, role: Role, email: str, *, device: bool = True) -> User:
    user = UserFactory(email=email)
    MembershipFactory(clinic=clinic, user=user, role=role)
    if device:
        TOTPDeviceFactory(user=user)
    return user


def _exercise_media(exercise: Exercise, uploader: User) -> ExerciseMedia:
    """A photo of the clinic's own exercise as media_add stores it (a PNG in private storage)."""
    return ExerciseMedia.objects.create(
        exercise=exercise, stored_name=_private_file(PNG_1PX), content_type="image/png",
        size=len(PNG_1PX),
        uploaded_by=uploader,
    )  # fmt: skip


def _exercise_items(exercise: Exercise) -> list[exercise_services.ItemIn]:
    return [exercise_services.ItemIn(exercise=exercise, params={**exercise.defaults(), "load": ""})]


def _exercise_template(clinic: Clinic, owner: User, exercise: Exercise) -> ProgramTemplate:
    return exercise_services.template_save(
        clinic, owner, None, name="Knie", goal="", weeks=2, items=_exercise_items(exercise)
    )


def _program(patient: Patient, owner: User, exercise: Exercise) -> Program:
    return exercise_services.program_create(
        patient,
        owner,
        exercise_services.ProgramIn(
            title=f"Programma {patient.family_name}",
            goal="",
            start_date=timezone.localdate(),
            end_date=None,
            items=_exercise_items(exercise),
        ),
    )


def _invitation_token(model: type, **fields: object) -> str:
    token, digest = invitation_new_token()
    model.objects.create(
        token_digest=digest, expires_at=timezone.now() + datetime.timedelta(days=7), **fields
    )
    return token


def _private_file(content: str | bytes) -> str:
    """A file in private upload storage, named as import_upload names it (the test run's
    temporary PRIVATE_UPLOAD_ROOT keeps it; the rolled-back world does not need it removed)."""
    root = Path(settings.PRIVATE_UPLOAD_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    data = content.encode("utf-8") if isinstance(content, str) else content
    (root / name).write_bytes(data)
    return name


def _chat(clinic: Clinic, counsellor: User, admin: User) -> ChatObjects:
    """Rows as the chat's endpoints would have stored them; the bytes are placeholders."""
    clinic_key = ClinicChatKey.objects.create(
        clinic=clinic, key_id=uuid.uuid4().hex, sig_public=bytes(65), sealed_private={}
    )
    staff_key = ChatKey.objects.create(
        user=counsellor,
        key_id=uuid.uuid4().hex,
        kem_public=bytes(65),
        sig_public=bytes(65),
        sealed_private={},
    )
    certificate = Certificate.objects.create(
        clinic=clinic,
        staff_key=staff_key,
        clinic_key=clinic_key,
        purpose=Purpose.COUNSELLOR,
        signature=bytes(64),
        certified_by=admin,
    )
    organisation = Organisation.objects.create(clinic=clinic, name=f"Werkgever {clinic.name}")
    code = JoinCode.objects.create(
        clinic=clinic, organisation=organisation, code=uuid.uuid4().hex[:10].upper()
    )
    conversation = Conversation.objects.create(
        clinic=clinic,
        organisation=organisation,
        join_code=code,
        reporter_key_id=uuid.uuid4().hex,
        reporter_kem_public=bytes(65),
        reporter_sig_public=bytes(65),
        recovery_lookup=uuid.uuid4().hex * 2,
        sealed_private={},
        expires_at=timezone.now() + datetime.timedelta(days=31),
    )
    return ChatObjects(organisation, conversation, staff_key, certificate)


def _chat_key(user: User) -> ChatKey:
    """A person's key set as the key endpoint would store it (placeholder bytes)."""
    return ChatKey.objects.create(
        user=user,
        key_id=uuid.uuid4().hex,
        kem_public=bytes(65),
        sig_public=bytes(65),
        sealed_private={},
    )


def _thread(patient: Patient, certifier: User, team: list[User]) -> ClinicMessage:
    """A patient's thread with one message from the patient carrying an attachment (a private
    file), the team's keys certified for it by the clinic key of the counsellor chat's world."""
    clinic_key = ClinicChatKey.objects.get(clinic=patient.clinic)
    for member in team:
        Certificate.objects.create(
            clinic=patient.clinic,
            staff_key=_chat_key(member),
            clinic_key=clinic_key,
            purpose=Purpose.TEAM,
            signature=bytes(64),
            certified_by=certifier,
        )
    expires_at = timezone.now() + datetime.timedelta(days=730)
    thread = Thread.objects.create(
        clinic=patient.clinic,
        patient=patient,
        expires_at=expires_at,
        last_message_at=timezone.now(),
        last_patient_message_at=timezone.now(),
    )
    return ClinicMessage.objects.create(
        id=uuid.uuid4(),
        thread=thread,
        kind="body",
        sender_key_id=uuid.uuid4().hex,
        iv=bytes(12),
        cipher=bytes(272),
        signature=bytes(64),
        recipients=uuid.uuid4().hex,
        expires_at=expires_at,
        from_patient=True,
        attachment=_private_file("ciphertext"),
        attachment_size=10,
    )


# The smallest PNG (1x1, grey): a record document's file, previewed inline on its page.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200814f3e35a80000000049454e44ae426082"
)


def _document(patient: Patient, uploader: User, *, is_from_patient: bool) -> RecordDocument:
    """A record document as the upload service stores it: a PNG in private storage."""
    return RecordDocument.objects.create(
        clinic=patient.clinic, patient=patient, title=f"Foto {patient.family_name}",
        original_filename="foto.png", stored_name=_private_file(PNG_1PX), content_type="image/png",
        size=len(PNG_1PX), uploaded_by=uploader, is_from_patient=is_from_patient,
    )  # fmt: skip


def _confirm_key(user: User, email: str) -> str:
    address = EmailAddress.objects.create(user=user, email=email, verified=False, primary=False)
    return EmailConfirmationHMAC(address).key


def _build_world() -> World:
    clinic_a = ClinicFactory(name="Fysio Noord")
    clinic_b = ClinicFactory(name="Fysio Zuid")
    clinic_c = ClinicFactory(name="Fysio Oost", requires_patient_mfa=False)
    paul = UserFactory(email="paul@patient.example")
    TOTPDeviceFactory(user=paul)
    oscar = UserFactory(email="oscar@operator.example", is_staff=True, is_superuser=True)
    TOTPDeviceFactory(user=oscar)
    petra = UserFactory(email="petra@patient.example")
    PatientFactory(clinic=clinic_c, user=petra, given_name="Petra", family_name="Smit")
    world = World(
        clinic_a=clinic_a,
        clinic_b=clinic_b,
        alice=_staff(clinic_a, Role.PROFESSIONAL, "alice@noord.example"),
        adam=_staff(clinic_a, Role.CLINIC_ADMIN, "adam@noord.example"),
        cora=_staff(clinic_a, Role.COUNSELLOR, "cora@noord.example"),
        paul=paul,
        patient_a=PatientFactory(
            clinic=clinic_a, given_name="Paul", family_name="de Vries", user=paul
        ),
        charlie=_staff(clinic_b, Role.PROFESSIONAL, "charlie@zuid.example"),
        bea=_staff(clinic_b, Role.CLINIC_ADMIN, "bea@zuid.example"),
        patient_b=PatientFactory(clinic=clinic_b, given_name="Sentinelia", family_name="Zuidkant"),
        oscar=oscar,
        nina=_staff(clinic_a, Role.PROFESSIONAL, "nina@noord.example", device=False),
        petra=petra,
    )
    pieter = PatientFactory(clinic=clinic_a, given_name="Pieter", family_name="Bakker")
    for side, clinic, admin, email in (
        ("a", clinic_a, world.adam, "nora@noord.example"),
        ("b", clinic_b, world.bea, "zeno@zuid.example"),
    ):
        world.staff_tokens[side] = _invitation_token(
            StaffInvitation, clinic=clinic, email=email, role=Role.PROFESSIONAL, created_by=admin
        )
    for side, clinic, patient, creator in (
        ("a", clinic_a, pieter, world.alice),
        ("b", clinic_b, world.patient_b, world.charlie),
    ):
        world.patient_tokens[side] = _invitation_token(
            PatientInvitation, clinic=clinic, patient=patient, created_by=creator
        )
    # A checked import per clinic with nothing to import: confirming it changes nothing. A
    # generic CSV whose file is kept, so its column-mapping page offers the columns and shows
    # the first values (clinic B's name its sentinel patient: T16 sees it if they leak).
    for side, patient, uploader in (("a", world.patient_a, world.alice),
                                    ("b", world.patient_b, world.charlie)):  # fmt: skip
        csv_text = f"Datum,Gewicht,Opmerking\n01-03-2025,80,{patient.family_name}\n"
        world.batches[side] = ImportBatch.objects.create(
            clinic=patient.clinic, patient=patient, uploaded_by=uploader, source="file",
            filename="export.csv", format="generic_csv", status=ImportStatus.PREVIEWED,
            stored_name=_private_file(csv_text),
        )  # fmt: skip
    # A rule of each kind and an open alert per clinic, for the threshold and alert URLs.
    for side, patient, owner in (("a", world.patient_a, world.alice),
                                 ("b", world.patient_b, world.charlie)):  # fmt: skip
        common = {"clinic": patient.clinic, "kind": "weight", "created_by": owner}
        world.patient_rules[side] = ThresholdRule.objects.create(
            patient=patient, rule_type="upper", limit=100, **common
        )
        world.clinic_rules[side] = ThresholdRule.objects.create(
            patient=None, rule_type="lower", limit=40, **common
        )
        world.alerts[side] = Alert.objects.create(
            clinic=patient.clinic, patient=patient, rule=world.patient_rules[side],
            kind="weight", rule_type="upper", detail="101.0 kg: above 100.0 kg",
        )  # fmt: skip
    # The counsellor chat of each clinic (clinic B's counsellor exists for its key only).
    carla = _staff(clinic_b, Role.COUNSELLOR, "carla@zuid.example")
    world.chats = {
        "a": _chat(clinic_a, world.cora, world.adam),
        "b": _chat(clinic_b, carla, world.bea),
    }
    # Clinic messages: Paul has a key; each clinic's professional and admin hold team keys.
    _chat_key(world.paul)
    for side, patient, team in (("a", world.patient_a, [world.alice, world.adam]),
                                ("b", world.patient_b, [world.charlie, world.bea])):  # fmt: skip
        message = _thread(patient, team[-1], team)
        world.thread_messages[side] = message
        world.threads[side] = message.thread
    # Exercises: each clinic's own exercise (a copy of a base one), a template and a program.
    base_library_ensure()
    for side, patient, owner in (("a", world.patient_a, world.alice),
                                 ("b", world.patient_b, world.charlie)):  # fmt: skip
        exercise = exercise_services.exercise_copy(
            patient.clinic, owner, Exercise.objects.base()[0]
        )
        world.exercises[side] = exercise
        world.exercise_media[side] = _exercise_media(exercise, owner)
        world.exercise_templates[side] = _exercise_template(patient.clinic, owner, exercise)
        world.programs[side] = _program(patient, owner, exercise)
    # Record documents: Paul's own upload in A (B's record has no account), a staff upload each.
    uploaders = {"a": (world.paul, world.alice), "b": (world.charlie, world.charlie)}
    for side, (uploader, staff) in uploaders.items():
        patient = world.patient(side)
        world.documents[side] = _document(patient, uploader, is_from_patient=side == "a")
        world.staff_documents[side] = _document(patient, staff, is_from_patient=False)
    # An appointment per clinic's patient, and a calendar feed of each record (its raw token).
    for side, patient, professional in (("a", world.patient_a, world.alice),
                                        ("b", world.patient_b, world.charlie)):  # fmt: skip
        world.appointments[side] = Appointment.objects.create(
            clinic=patient.clinic, patient=patient, professional=professional,
            created_by=professional, starts_at=timezone.now() + datetime.timedelta(days=7),
            duration_minutes=30, location="Kamer 1", note=f"Notitie {patient.family_name}",
        )  # fmt: skip
        world.feed_tokens[side] = uuid.uuid4().hex * 2
        CalendarFeed.objects.create(
            clinic=patient.clinic, patient=patient,
            token_digest=token_digest(world.feed_tokens[side]),
        )  # fmt: skip
    world.confirm_keys = {
        "a": _confirm_key(world.alice, "alice.new@noord.example"),
        "b": _confirm_key(world.charlie, "charlie.new@zuid.example"),
    }
    # Sessions made once through conftest's `login` (the same as `client_for`): each test only
    # presents the cookie, and whatever it does to the session is rolled back with it.
    signed_in = [(u, True) for u in (world.alice, world.adam, world.cora, world.paul, oscar)]
    signed_in += [(u, False) for u in (world.alice, world.adam, world.cora, world.paul, oscar)]
    signed_in += [(world.nina, False), (petra, False)]
    for user, verified in signed_in:
        client = login(Client(), user, verified=verified)
        world.sessions[(user.pk, verified)] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return world


@contextmanager
def world_rolled_back(django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """The cast, made in a transaction that is rolled back afterwards (for a module fixture)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        built = _build_world()
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """The cast, made once for the module."""
    with world_rolled_back(django_db_blocker) as built:
        yield built


# --- the parameter registry ---------------------------------------------------------------------

Builder = Callable[[World, Side, Route], object]


@dataclass(frozen=True)
class Param:
    """How to fill one URL parameter from the fixtures.

    `build` is one builder, or a dict of builders per view name when the same parameter name
    means different things in different views (a new view using the name then needs an entry).
    `tenant_object` marks ids of clinic-owned objects: T16 requests clinic B's value as clinic
    A's staff. `why_not_tenant` records, for the others, why no cross-clinic check applies.
    """

    build: Builder | dict[str, Builder]
    tenant_object: bool
    why_not_tenant: str = ""


def _admin_object(world: World, side: Side, route: Route) -> object:
    """The admin's object ids: an existing row of the model in the route (or a missing id)."""
    _admin, app_label, model_name = route.route.split("/")[:3]
    model = apps.get_model(app_label, model_name)
    user = world.professional(side)
    if model is User:
        return user.pk
    if model is Clinic:
        return world.clinic(side).pk
    if any(f.name == "user" for f in model._meta.get_fields()):
        row = model.objects.filter(user=user).first()
        return row.pk if row is not None else 0
    return 0  # a missing row: the admin answers with its own "does not exist" redirect


ADMIN_ONLY = "the admin site is for the operator only; its ids are not clinic-scoped"

PARAMETERS: dict[str, Param] = {
    "patient_id": Param(lambda w, s, r: w.patient(s).pk, tenant_object=True),
    # The patient's own record (paul's in A); B's is another patient's record.
    "record_id": Param(lambda w, s, r: w.patient(s).pk, tenant_object=True),
    "batch_id": Param(lambda w, s, r: w.batches[s].pk, tenant_object=True),
    "rule_id": Param(
        {
            "patients:threshold_remove": lambda w, s, r: w.patient_rules[s].pk,
            "patients:clinic_threshold_remove": lambda w, s, r: w.clinic_rules[s].pk,
        },
        tenant_object=True,
    ),
    "alert_id": Param(lambda w, s, r: w.alerts[s].pk, tenant_object=True),
    "membership_id": Param(lambda w, s, r: w.membership(s).pk, tenant_object=True),
    "conversation_id": Param(lambda w, s, r: w.chats[s].conversation.pk, tenant_object=True),
    "organisation_id": Param(lambda w, s, r: w.chats[s].organisation.pk, tenant_object=True),
    "certificate_id": Param(lambda w, s, r: w.chats[s].certificate.pk, tenant_object=True),
    # A counsellor's key, certified by its own clinic: clinic A's admin must not certify B's.
    "staff_key_id": Param(lambda w, s, r: w.chats[s].staff_key.pk, tenant_object=True),
    # Clinic messages: a patient's thread and a message of it with an attachment.
    "thread_id": Param(lambda w, s, r: w.threads[s].pk, tenant_object=True),
    "message_id": Param(lambda w, s, r: w.thread_messages[s].pk, tenant_object=True),
    # Exercises: a clinic's own exercise, a template and a patient's program.
    "exercise_id": Param(lambda w, s, r: w.exercises[s].pk, tenant_object=True),
    "template_id": Param(lambda w, s, r: w.exercise_templates[s].pk, tenant_object=True),
    "media_id": Param(lambda w, s, r: w.exercise_media[s].pk, tenant_object=True),
    "program_id": Param(lambda w, s, r: w.programs[s].pk, tenant_object=True),
    "number": Param(
        lambda w, s, r: 1,
        tenant_object=False,
        why_not_tenant="a version's number within the program that program_id names",
    ),
    # A record document: the staff's for its staff-only switch (a patient's upload cannot be
    # hidden from them), the patient's own upload (A: Paul's) everywhere else.
    "document_id": Param(
        lambda w, s, r: (
            (w.staff_documents if r.view_name == "documents:staff_only" else w.documents)[s].pk
        ),
        tenant_object=True,
    ),
    "appointment_id": Param(lambda w, s, r: w.appointments[s].pk, tenant_object=True),
    "token": Param(
        {
            "invitations:staff": lambda w, s, r: w.staff_tokens[s],
            "invitations:patient": lambda w, s, r: w.patient_tokens[s],
            "appointments:feed": lambda w, s, r: w.feed_tokens[s],
        },
        tenant_object=False,
        why_not_tenant="an unguessable single-use capability: whoever holds the link may see "
        "the inviting clinic's name, whatever clinic they work for (a calendar feed's secret: "
        "its record's appointment times and clinic name, to whoever holds it)",
    ),
    "key": Param(
        {
            "account_confirm_email": lambda w, s, r: w.confirm_keys[s],
            "account_reset_password_from_key": lambda w, s, r: default_token_generator.make_token(
                w.professional(s)
            ),
        },
        tenant_object=False,
        why_not_tenant="a signed token for one account, not a clinic's object",
    ),
    "uidb36": Param(
        lambda w, s, r: user_pk_to_url_str(w.professional(s)),
        tenant_object=False,
        why_not_tenant="only valid together with the account's signed reset key",
    ),
    # The admin site (operator only).
    "app_label": Param(lambda w, s, r: "clinics", tenant_object=False, why_not_tenant=ADMIN_ONLY),
    "object_id": Param(
        {
            "admin:view_on_site": lambda w, s, r: w.professional(s).pk,
            "admin:*": _admin_object,
        },
        tenant_object=False,
        why_not_tenant=ADMIN_ONLY,
    ),
    "content_type_id": Param(
        lambda w, s, r: ContentType.objects.get_for_model(User).pk,
        tenant_object=False,
        why_not_tenant=ADMIN_ONLY,
    ),
    # Without its slash: the catch-all answers with the redirect to the slashed URL.
    "url": Param(lambda w, s, r: "clinics", tenant_object=False, why_not_tenant=ADMIN_ONLY),
}


def _builder(route: Route, name: str) -> Builder:
    param = PARAMETERS.get(name)
    if param is None:
        pytest.fail(
            f"URL parameter `{name}` of {route.view_name} ({route.route}) is not in PARAMETERS "
            "in tests/test_url_matrix.py: add how to build a clinic A and a clinic B value, and "
            "whether it names a clinic-owned object (then T16 checks it across clinics)."
        )
    if callable(param.build):
        return param.build
    builder = param.build.get(route.view_name) or param.build.get(route.matrix_key)
    if builder is None:
        pytest.fail(
            f"URL parameter `{name}` means something per view and {route.view_name} has no "
            "builder in PARAMETERS in tests/test_url_matrix.py: add one."
        )
    return builder


def values_for(route: Route, world: World, side: Side) -> dict[str, str]:
    return {name: str(_builder(route, name)(world, side, route)) for name in route.params}


def url_for(route: Route, world: World, side: Side = "a") -> str:
    return route.path(values_for(route, world, side))


# --- the reviewed access registries -------------------------------------------------------------

ANONYMOUS, PATIENT, PROFESSIONAL, COUNSELLOR, CLINIC_ADMIN, SUPERUSER = (
    "anonymous",
    "patient",
    "professional",
    "counsellor",
    "clinic_admin",
    "superuser",
)
ROLES = (ANONYMOUS, PATIENT, PROFESSIONAL, COUNSELLOR, CLINIC_ADMIN, SUPERUSER)
SIGNED_IN = frozenset(ROLES) - {ANONYMOUS}
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
RECORD_STAFF = frozenset({PROFESSIONAL, CLINIC_ADMIN})

# T01: what an anonymous visitor may use. Everything else answers a login redirect or 4xx.
PUBLIC = frozenset(
    {
        "healthz",
        "set_language",
        "account_login",
        "account_logout",
        "account_signup",
        "account_inactive",
        "account_email_verification_sent",
        "account_confirm_email",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "invitations:staff",
        "invitations:patient",
        # The counsellor chat's reporters have no account: the key in their browser is their
        # credential (messaging.reporter_views).
        "reporter:join",
        "reporter:chat",
        "reporter:api_code",
        "reporter:api_join",
        "reporter:api_challenge",
        "reporter:api_session",
        "reporter:api_recover",
        "reporter:api_sign_out",
        "reporter:api_messages",
        # Calendar apps cannot sign in: the feed's secret token is the credential.
        "appointments:feed",
    }
)

# T18: view -> the roles that may see it. A view missing here fails: decide who may see it.
MATRIX: dict[str, frozenset[str]] = {
    "home": SIGNED_IN,
    "healthz": EVERYONE,
    "set_language": EVERYONE,
    "account_login": EVERYONE,
    "account_logout": EVERYONE,
    "account_signup": EVERYONE,
    "account_inactive": EVERYONE,
    "account_email_verification_sent": EVERYONE,
    "account_confirm_email": EVERYONE,
    "account_reset_password": EVERYONE,
    "account_reset_password_done": EVERYONE,
    "account_reset_password_from_key": EVERYONE,
    "account_reset_password_from_key_done": EVERYONE,
    "account_reauthenticate": SIGNED_IN,
    "account_email": SIGNED_IN,
    "account_change_password": SIGNED_IN,
    # Not used by the portal (no passwordless accounts, no login by e-mailed code): locked.
    "account_set_password": NOBODY,
    "account_confirm_login_code": NOBODY,
    "mfa:setup": SIGNED_IN,
    "mfa:verify": SIGNED_IN,
    "mfa:backup_codes": SIGNED_IN,
    "clinics:switch": SIGNED_IN,
    "clinics:profile": SIGNED_IN,
    "clinics:staff": frozenset({CLINIC_ADMIN}),
    "clinics:staff_invite": frozenset({CLINIC_ADMIN}),
    "clinics:membership_role": frozenset({CLINIC_ADMIN}),
    "clinics:membership_remove": frozenset({CLINIC_ADMIN}),
    "clinics:settings": frozenset({CLINIC_ADMIN}),
    "clinics:access_log": frozenset({CLINIC_ADMIN}),
    "clinics:access_log_export": frozenset({CLINIC_ADMIN}),
    "invitations:staff": EVERYONE,
    "invitations:patient": EVERYONE,
    "patients:list": RECORD_STAFF,
    "patients:create": RECORD_STAFF,
    "patients:overview": frozenset({PROFESSIONAL}),
    "patients:detail": RECORD_STAFF,
    "patients:edit": RECORD_STAFF,
    "patients:invite": RECORD_STAFF,
    "patients:measurements": frozenset({PROFESSIONAL}),
    "patients:measurement_add": frozenset({PROFESSIONAL}),
    "patients:import_new": frozenset({PROFESSIONAL}),
    "patients:fhir_export": frozenset({PROFESSIONAL}),
    "patients:thresholds": frozenset({PROFESSIONAL}),
    "patients:threshold_remove": frozenset({PROFESSIONAL}),
    "patients:clinic_thresholds": frozenset({PROFESSIONAL}),
    "patients:clinic_threshold_remove": frozenset({PROFESSIONAL}),
    "patients:alert_ack": frozenset({PROFESSIONAL}),
    "patients:my_fhir_export": frozenset({PATIENT}),
    "patients:import_detail": frozenset({PROFESSIONAL}),
    "patients:import_mapping": frozenset({PROFESSIONAL}),
    "patients:import_confirm": frozenset({PROFESSIONAL}),
    "patients:import_cancel": frozenset({PROFESSIONAL}),
    "patients:my_measurements": frozenset({PATIENT}),
    "patients:my_measurement_add": frozenset({PATIENT}),
    "patients:my_import_new": frozenset({PATIENT}),
    "patients:my_import_detail": frozenset({PATIENT}),
    "patients:my_import_mapping": frozenset({PATIENT}),
    "patients:my_import_confirm": frozenset({PATIENT}),
    "patients:my_import_cancel": frozenset({PATIENT}),
    "patients:my_records": frozenset({PATIENT}),
    "patients:my_access_log": frozenset({PATIENT}),
    # The counsellor chat: counsellors read and write it, clinic admins manage its keys,
    # organisations and codes; nobody else (professionals see no chat, counsellors no records).
    "messaging:inbox": frozenset({COUNSELLOR}),
    "messaging:key": frozenset({COUNSELLOR}),
    "messaging:conversation": frozenset({COUNSELLOR}),
    "messaging:conversation_status": frozenset({COUNSELLOR}),
    "messaging:api_key": frozenset({COUNSELLOR}),
    "messaging:api_directory": frozenset({COUNSELLOR, CLINIC_ADMIN}),
    "messaging:api_inbox": frozenset({COUNSELLOR}),
    "messaging:api_messages": frozenset({COUNSELLOR}),
    "messaging:api_rewrap": frozenset({COUNSELLOR}),
    "messaging:chat_admin": frozenset({CLINIC_ADMIN}),
    "messaging:api_clinic_key": frozenset({CLINIC_ADMIN}),
    "messaging:api_certify_list": frozenset({CLINIC_ADMIN}),
    "messaging:api_certify": frozenset({CLINIC_ADMIN}),
    "messaging:certificate_revoke": frozenset({CLINIC_ADMIN}),
    "messaging:organisations": frozenset({CLINIC_ADMIN}),
    "messaging:organisation": frozenset({CLINIC_ADMIN}),
    "messaging:organisation_poster": frozenset({CLINIC_ADMIN}),
    "messaging:organisation_qr": frozenset({CLINIC_ADMIN}),
    "messaging:code_rotate": frozenset({CLINIC_ADMIN}),
    "messaging:code_close": frozenset({CLINIC_ADMIN}),
    "messaging:usage": frozenset({CLINIC_ADMIN}),
    # Clinic messages: the patient's own threads; the team is the clinic's professionals and
    # admins (counsellors see none of it).
    "clinic_messages:my_key": frozenset({PATIENT}),
    "clinic_messages:my_api_key": frozenset({PATIENT}),
    "clinic_messages:my_thread": frozenset({PATIENT}),
    "clinic_messages:my_api_directory": frozenset({PATIENT}),
    "clinic_messages:my_api_messages": frozenset({PATIENT}),
    "clinic_messages:my_attachment": frozenset({PATIENT}),
    "clinic_messages:team_inbox": RECORD_STAFF,
    "clinic_messages:team_key": RECORD_STAFF,
    "clinic_messages:team_api_key": RECORD_STAFF,
    "clinic_messages:team_api_directory": RECORD_STAFF,
    "clinic_messages:team_api_inbox": RECORD_STAFF,
    "clinic_messages:team_api_rewrap": RECORD_STAFF,
    "clinic_messages:team_api_messages": RECORD_STAFF,
    "clinic_messages:team_thread": RECORD_STAFF,
    "clinic_messages:team_thread_status": RECORD_STAFF,
    "clinic_messages:team_thread_assign": RECORD_STAFF,
    "clinic_messages:team_attachment": RECORD_STAFF,
    # Exercises: the library, templates and programs are the team's; the day is the patient's.
    "exercises:library": RECORD_STAFF,
    "exercises:new": RECORD_STAFF,
    "exercises:detail": RECORD_STAFF,
    "exercises:edit": RECORD_STAFF,
    "exercises:copy": RECORD_STAFF,
    "exercises:archive": RECORD_STAFF,
    "exercises:templates": RECORD_STAFF,
    "exercises:template_new": RECORD_STAFF,
    "exercises:template_edit": RECORD_STAFF,
    "exercises:template_delete": RECORD_STAFF,
    "exercises:programs": RECORD_STAFF,
    "exercises:timeline": RECORD_STAFF,
    "exercises:program_new": RECORD_STAFF,
    "exercises:program": RECORD_STAFF,
    "exercises:program_edit": RECORD_STAFF,
    "exercises:program_version": RECORD_STAFF,
    "exercises:program_stop": RECORD_STAFF,
    "exercises:program_save_as_template": RECORD_STAFF,
    "exercises:my_day": frozenset({PATIENT}),
    "exercises:my_media": frozenset({PATIENT}),
    "exercises:my_reminders": frozenset({PATIENT}),
    "exercises:media_add": RECORD_STAFF,
    "exercises:media": RECORD_STAFF,
    "exercises:media_delete": RECORD_STAFF,
    # Record documents: the clinic's professionals and admins, each request logged; the
    # patient their own record's documents that are not staff-only.
    "documents:list": RECORD_STAFF,
    "documents:upload": RECORD_STAFF,
    "documents:detail": RECORD_STAFF,
    "documents:download": RECORD_STAFF,
    "documents:preview": RECORD_STAFF,
    "documents:staff_only": RECORD_STAFF,
    "documents:delete": RECORD_STAFF,
    "documents:my_list": frozenset({PATIENT}),
    "documents:my_upload": frozenset({PATIENT}),
    "documents:my_detail": frozenset({PATIENT}),
    "documents:my_download": frozenset({PATIENT}),
    "documents:my_preview": frozenset({PATIENT}),
    "documents:my_delete": frozenset({PATIENT}),
    "reporter:join": EVERYONE,
    "reporter:chat": EVERYONE,
    "reporter:api_code": EVERYONE,
    "reporter:api_join": EVERYONE,
    "reporter:api_challenge": EVERYONE,
    "reporter:api_session": EVERYONE,
    "reporter:api_recover": EVERYONE,
    "reporter:api_sign_out": EVERYONE,
    "reporter:api_messages": EVERYONE,
    # Appointments: the clinic's professionals and admins plan them; the patient sees their
    # own and their calendar feed, which calendar apps read without a session.
    "appointments:list": RECORD_STAFF,
    "appointments:create": RECORD_STAFF,
    "appointments:edit": RECORD_STAFF,
    "appointments:cancel": RECORD_STAFF,
    "appointments:my_list": frozenset({PATIENT}),
    "appointments:my_ics": frozenset({PATIENT}),
    "appointments:my_feed_issue": frozenset({PATIENT}),
    "appointments:my_feed_revoke": frozenset({PATIENT}),
    "appointments:feed": EVERYONE,
    "admin:*": frozenset({SUPERUSER}),
}

# What an allowed role's GET normally answers, when not a plain 200.
NORMAL_GET_STATUS: dict[str, frozenset[int]] = {
    "home": frozenset({302}),  # each role is sent to where its work starts
    "set_language": frozenset({302}),
    "account_login": frozenset({200, 302}),  # a signed-in user is sent on
    "account_signup": frozenset({200, 302}),
    "account_logout": frozenset({200, 302}),  # anonymous: nothing to log out of
    "account_reset_password_from_key": frozenset({302}),  # the key moves out of the URL
    "mfa:setup": frozenset({302}),  # a verified session has nothing to enrol or verify
    "mfa:verify": frozenset({302}),
    "clinics:membership_role": frozenset({405}),  # POST only
    "clinics:membership_remove": frozenset({405}),
    "patients:import_confirm": frozenset({405}),
    "patients:threshold_remove": frozenset({405}),
    "patients:clinic_threshold_remove": frozenset({405}),
    "patients:alert_ack": frozenset({405}),
    "patients:import_cancel": frozenset({405}),
    "patients:my_import_confirm": frozenset({405}),
    "patients:my_import_cancel": frozenset({405}),
    "messaging:conversation_status": frozenset({405}),
    "messaging:api_certify": frozenset({405}),
    "messaging:certificate_revoke": frozenset({405}),
    "messaging:code_rotate": frozenset({405}),
    "messaging:code_close": frozenset({405}),
    "clinic_messages:team_thread_status": frozenset({405}),
    "clinic_messages:team_thread_assign": frozenset({405}),
    "exercises:copy": frozenset({405}),
    "exercises:media_add": frozenset({405}),
    "exercises:my_reminders": frozenset({405}),
    "exercises:media_delete": frozenset({405}),
    "exercises:archive": frozenset({405}),
    "exercises:template_delete": frozenset({405}),
    "exercises:program_stop": frozenset({405}),
    "exercises:program_save_as_template": frozenset({405}),
    "documents:staff_only": frozenset({405}),
    "documents:delete": frozenset({405}),
    "documents:my_delete": frozenset({405}),
    "reporter:api_code": frozenset({404}),  # no code given: none is found
    "reporter:api_join": frozenset({405}),
    "reporter:api_session": frozenset({405}),
    "reporter:api_recover": frozenset({405}),
    "reporter:api_sign_out": frozenset({405}),
    "reporter:api_messages": frozenset({403}),  # no reporter has signed in in this browser
    "admin:view_on_site": frozenset({404}),  # no model of ours has a public page
    "appointments:cancel": frozenset({405}),
    "appointments:my_feed_issue": frozenset({405}),
    "appointments:my_feed_revoke": frozenset({405}),
    "admin:*": frozenset({200, 301, 302, 405}),
}

# A valid choice of columns for the world's import files: it would store the mapping.
IMPORT_MAPPING = {"datetime_column": "Datum", "date_format": "dd-mm-yyyy", "kind_weight": "Gewicht"}

# An appointment a month ahead on the clinics' clocks (the form refuses dates far from today).
APPOINTMENT = {
    "date": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
    "time": "09:00",
    "duration_minutes": "45",
}

# Form data that would change something if a view accepted the request (T16, T30).
POST_DATA: dict[str, dict[str, str]] = {
    "patients:create": {
        "given_name": "Ingevoegd",
        "family_name": "Patient",
        "date_of_birth": "1980-02-03",
    },
    "patients:edit": {
        "given_name": "Gewijzigd",
        "family_name": "Patient",
        "date_of_birth": "1980-02-03",
    },
    "patients:invite": {"email": "invited@example.org"},
    "patients:thresholds": {"kind": "weight", "rule_type": "upper", "limit": "120"},
    "patients:clinic_thresholds": {"kind": "weight", "rule_type": "upper", "limit": "120"},
    "patients:measurement_add": {
        "kind": "weight",
        "measured_at": "2024-05-01T08:00",
        "value": "80.0",
    },
    "patients:my_measurement_add": {
        "kind": "weight",
        "measured_at": "2024-05-01T08:00",
        "value": "80.0",
    },
    "patients:import_mapping": IMPORT_MAPPING,
    "patients:my_import_mapping": IMPORT_MAPPING,
    "clinics:membership_role": {"role": Role.CLINIC_ADMIN},
    "clinics:settings": {},  # an unticked box: would switch patient MFA off
    "clinics:staff_invite": {"email": "new.colleague@example.org", "role": Role.CLINIC_ADMIN},
    "clinic_messages:team_thread_status": {"status": "handled"},
    "exercises:program_save_as_template": {"name": "Overgenomen"},
    "exercises:my_reminders": {"weekdays": ["1", "3"]},
    "exercises:template_edit": {
        "name": "Gewijzigd",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
    },
    # Without a file: the form answers its error (a file cannot be shared by every request).
    "documents:upload": {"title": "Ingevoegd", "staff_only": "on"},
    "documents:my_upload": {"title": "Ingevoegd"},
    "documents:staff_only": {"staff_only": "on"},
    "appointments:create": APPOINTMENT,
    "appointments:edit": APPOINTMENT,
}


# --- clients and responses ----------------------------------------------------------------------

REDIRECTS = frozenset({301, 302, 303, 307, 308})
DENIED = frozenset({401, 403, 404, 405})


def enforce_csrf(client: Client) -> Client:
    """Check CSRF like a browser, holding a known token cookie that only we can post with."""
    client.handler.enforce_csrf_checks = True
    client.cookies["csrftoken"] = CSRF_SECRET
    client.defaults["HTTP_USER_AGENT"] = USER_AGENT
    return client


def csrf_client() -> Client:
    """An anonymous browser."""
    return enforce_csrf(Client())


def post_with_token(client: Client, path: str, data: dict | None = None) -> HttpResponse:
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else CSRF_SECRET
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": token})


def redirect_target(response: HttpResponse) -> str | None:
    """The view name a redirect points to (None when not a redirect or not ours)."""
    if response.status_code not in REDIRECTS:
        return None
    try:
        return resolve(urlsplit(response["Location"]).path).view_name
    except Resolver404:
        return None


# The admin's login page only sends visitors on to the portal's login (portal.admin).
LOGIN_VIEWS = frozenset({"account_login", "admin:login"})


def is_login_redirect(response: HttpResponse) -> bool:
    return redirect_target(response) in LOGIN_VIEWS


def followed(
    client: Client, response: HttpResponse, *, stop_at_login: bool = True, hops: int = 4
) -> HttpResponse:
    """Follow redirects to the final answer (a denial may take a detour, as the admin's does).

    For an anonymous visitor a login redirect is the answer; a signed-in user is followed
    through it, because being sent to log in again is no denial for someone signed in.
    """
    while hops and response.status_code in REDIRECTS:
        if stop_at_login and is_login_redirect(response):
            break
        response = client.get(response["Location"])
        hops -= 1
    return response


def describe(response: HttpResponse) -> str:
    location = response.get("Location")
    return f"{response.status_code}" + (f" -> {location}" if location else "")


def user_of(world: World, role: str) -> User:
    return {
        PATIENT: world.paul,
        PROFESSIONAL: world.alice,
        COUNSELLOR: world.cora,
        CLINIC_ADMIN: world.adam,
        SUPERUSER: world.oscar,
    }[role]


def role_clients(world: World) -> dict[str, Client]:
    """One browser per role, every signed-in session past the second factor."""
    return {ANONYMOUS: csrf_client()} | {
        role: world.client(user_of(world, role)) for role in ROLES if role != ANONYMOUS
    }


# --- database snapshots -------------------------------------------------------------------------

SNAPSHOT_MODELS = (
    Clinic,
    User,
    Membership,
    StaffInvitation,
    Patient,
    PatientNameToken,
    PatientInvitation,
    ImportBatch,
    EmailAddress,
    AuthenticatorDevice,
    StaticDevice,
    ClinicMessage,
    RecordDocument,
    Appointment,
    CalendarFeed,
    Exercise,
    ExerciseLog,
    ExerciseMedia,
    Program,
    ProgramItem,
    ProgramTemplate,
    ProgramVersion,
    SessionLog,
    TemplateItem,
)


def app_rows() -> dict[str, list[dict]]:
    """Every row of the application's tables (the access log excepted: reads append to it)."""
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in SNAPSHOT_MODELS}


def changed_tables(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# --- which routes each test walks ---------------------------------------------------------------

# One gate guards the whole admin site; these stand for it beyond T01 (which walks all of it).
ADMIN_REPRESENTATIVES = frozenset(
    {
        "admin:index",
        "admin:login",
        "admin:logout",
        "admin:password_change",
        "admin:app_list",
        "admin:view_on_site",
        "admin:clinics_user_change",
        "admin:clinics_user_changelist",
        "admin:clinics_accesslogentry_changelist",
    }
)


def route_ids(routes: list[Route]) -> list[str]:
    return [r.view_name for r in routes]


def _is_admin_catch_all(route: Route) -> bool:
    return route.is_admin and route.params == ("url",)


WALKED = [
    r
    for r in ROUTES
    if not r.is_admin or r.view_name in ADMIN_REPRESENTATIVES or _is_admin_catch_all(r)
]
TENANT_ROUTES = [
    r for r in ROUTES if any(p in PARAMETERS and PARAMETERS[p].tenant_object for p in r.params)
]
# Staff pages about a patient (patient_id), except POST-only ones: a GET cannot read anything.
PATIENT_ROUTES = [
    r
    for r in ROUTES
    if "patient_id" in r.params and NORMAL_GET_STATUS.get(r.view_name) != frozenset({405})
]

# --- the registries themselves ------------------------------------------------------------------


def test_every_url_pattern_outside_the_admin_site_has_a_name() -> None:
    """Every non-admin URL pattern is named, so the reviewed registries can decide about it."""
    unnamed = [r.route for r in ROUTES if not r.is_admin and r.name is None]
    assert not unnamed, f"Give these URL patterns a name: {unnamed}"


def test_every_url_parameter_has_a_registry_entry() -> None:
    """A new URL parameter name fails until PARAMETERS says how to build its values."""
    missing = sorted(
        f"`{p}` of {r.view_name}" for r in ROUTES for p in r.params if p not in PARAMETERS
    )
    assert not missing, (
        f"Add these URL parameters to PARAMETERS in tests/test_url_matrix.py: {missing}"
    )
    unexplained = sorted(
        n for n, p in PARAMETERS.items() if not p.tenant_object and not p.why_not_tenant
    )
    assert not unexplained, (
        f"Say why these are no clinic-owned objects (why_not_tenant): {unexplained}"
    )


def test_every_view_has_a_decision_in_the_role_matrix() -> None:
    """A new view fails until MATRIX says which roles may see it."""
    missing = sorted({r.matrix_key for r in ROUTES} - set(MATRIX))
    assert not missing, (
        f"Decide who may see these views: add them to MATRIX in tests/test_url_matrix.py "
        f"(and to PUBLIC when anonymous visitors may use them): {missing}"
    )


def test_registries_name_only_existing_views() -> None:
    """No stale entry in the registries: a renamed or removed URL is noticed."""
    keys = {r.matrix_key for r in ROUTES} | {r.view_name for r in ROUTES}
    for registry_name, registry in (
        ("PUBLIC", PUBLIC),
        ("MATRIX", MATRIX),
        ("NORMAL_GET_STATUS", NORMAL_GET_STATUS),
        ("POST_DATA", POST_DATA),
    ):
        stale = sorted(set(registry) - keys)
        assert not stale, f"{registry_name} names views that no longer exist: {stale}"
    missing_admin = sorted(ADMIN_REPRESENTATIVES - {r.view_name for r in ROUTES})
    assert not missing_admin, f"ADMIN_REPRESENTATIVES names missing URLs: {missing_admin}"
    used_params = {p for r in ROUTES for p in r.params}
    assert not set(PARAMETERS) - used_params, "PARAMETERS lists unused parameter names"


def test_public_allowlist_agrees_with_the_role_matrix() -> None:
    """A view is public for T01 exactly when the T18 matrix lets anonymous visitors see it."""
    anonymous_in_matrix = {view for view, roles in MATRIX.items() if ANONYMOUS in roles}
    assert anonymous_in_matrix == set(PUBLIC)


# --- T01: anonymous visitors --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_anonymous_visitor_gets_login_or_denial_outside_the_public_allowlist(
    route: Route, world: World
) -> None:
    """Anonymous GET and POST (valid CSRF token) answer a login redirect or 401/403/404/405."""
    path = url_for(route, world)
    for method in ("GET", "POST"):
        client = csrf_client()
        response = client.get(path) if method == "GET" else post_with_token(client, path)
        assert response.status_code < 500, f"{method} {path}: {describe(response)}"
        if route.view_name in PUBLIC:
            continue
        final = followed(client, response)
        assert final.status_code in DENIED or is_login_redirect(final), (
            f"anonymous {method} {path} answered {describe(response)}: not in PUBLIC, so it "
            "must redirect to the login page or answer 401/403/404/405"
        )


# --- T02: sessions that have not passed the second factor ---------------------------------------


def _gate_answers(client: Client, path: str) -> dict[str, HttpResponse]:
    return {"GET": client.get(path), "POST": post_with_token(client, path)}


@pytest.mark.django_db
@pytest.mark.parametrize("route", WALKED, ids=route_ids(WALKED))
def test_password_only_session_reaches_nothing_but_the_mfa_exemptions(
    route: Route, world: World
) -> None:
    """Staff and MFA-clinic patients with a password only are sent to verify (or to enrol)."""
    people = {
        "alice": (world.alice, "mfa:verify"),
        "adam": (world.adam, "mfa:verify"),
        "cora": (world.cora, "mfa:verify"),
        "oscar": (world.oscar, "mfa:verify"),
        "paul": (world.paul, "mfa:verify"),
        "nina": (world.nina, "mfa:setup"),  # staff without an authenticator yet
    }
    path = url_for(route, world)
    exempt = route.view_name in MFA_EXEMPT_URL_NAMES
    for label, (user, step) in people.items():
        for method, response in _gate_answers(world.client(user, verified=False), path).items():
            assert response.status_code < 500, f"{label} {method} {path}: {describe(response)}"
            if exempt:
                continue
            assert redirect_target(response) == step, (
                f"{label} (password only) {method} {path} answered {describe(response)}, "
                f"not a redirect to {step}"
            )


# The gate does not apply to its exemptions (and mfa:verify offers enrolment to anyone).
GATED = [r for r in WALKED if r.view_name not in MFA_EXEMPT_URL_NAMES]


@pytest.mark.django_db
@pytest.mark.parametrize("route", GATED, ids=route_ids(GATED))
def test_patient_of_clinic_without_patient_mfa_is_never_sent_to_the_second_factor(
    route: Route, world: World
) -> None:
    """A patient whose clinic does not require MFA is not stopped by the gate anywhere."""
    path = url_for(route, world)
    for method, response in _gate_answers(world.client(world.petra, verified=False), path).items():
        assert response.status_code < 500, f"{method} {path}: {describe(response)}"
        assert redirect_target(response) not in {"mfa:verify", "mfa:setup"}, (
            f"petra {method} {path} was sent to the second factor: {describe(response)}"
        )


@pytest.mark.django_db
def test_patient_of_clinic_without_patient_mfa_reaches_own_pages_with_password_only(
    world: World,
) -> None:
    """Clinic policy `requires_patient_mfa=False`: the patient's pages answer 200 unverified."""
    client = world.client(world.petra, verified=False)
    assert client.get(reverse("patients:my_records")).status_code == 200
    assert client.get(reverse("patients:my_access_log")).status_code == 200
    assert redirect_target(client.get(reverse("home"))) == "patients:my_records"


# --- T18: the role x view matrix ----------------------------------------------------------------


def _assert_denied(role: str, client: Client, response: HttpResponse, what: str) -> None:
    final = followed(client, response, stop_at_login=role == ANONYMOUS)
    assert final.status_code in {403, 404} or (role == ANONYMOUS and is_login_redirect(final)), (
        f"{role} is not in MATRIX for {what} but got {describe(response)}"
        + (f", finally {describe(final)}" if final is not response else "")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("route", WALKED, ids=route_ids(WALKED))
def test_role_matrix_decides_who_reaches_every_view_and_get_writes_nothing(
    route: Route, world: World
) -> None:
    """Allowed roles get the view's normal answer, others 403/404 or login; GET never writes.

    T18 with objects of the role's own clinic; T30's second half: the GETs of every role leave
    patients, memberships, invitations and accounts as they were (reads may add to the access
    log, by design). Denied roles also POST, and that writes nothing either.
    """
    key = route.matrix_key
    if key not in MATRIX:
        pytest.fail(f"{key} is not in MATRIX in tests/test_url_matrix.py: decide who may see it.")
    allowed = MATRIX[key]
    normal = NORMAL_GET_STATUS.get(route.view_name, NORMAL_GET_STATUS.get(key, frozenset({200})))
    path = url_for(route, world)
    clients = role_clients(world)
    before = app_rows()
    for role, client in clients.items():
        response = client.get(path)
        assert response.status_code < 500, f"{role} GET {path}: {describe(response)}"
        if role in allowed:
            sent_to_login = is_login_redirect(response) and route.view_name not in LOGIN_VIEWS
            assert response.status_code in normal and not sent_to_login, (
                f"{role} may see {key} (MATRIX) but GET {path} answered {describe(response)}; "
                f"expected {sorted(normal)}"
            )
        else:
            _assert_denied(role, client, response, f"GET {path}")
    changed = changed_tables(before, app_rows())
    assert not changed, f"GET {path} (by {', '.join(clients)}) wrote to {changed}"
    for role in sorted(set(clients) - allowed):
        client = clients[role]
        response = post_with_token(client, path, POST_DATA.get(key))
        _assert_denied(role, client, response, f"POST {path}")
    changed = changed_tables(before, app_rows())
    assert not changed, f"POST {path} by roles outside MATRIX wrote to {changed}"


# --- T16: clinic B's objects requested by clinic A's staff --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", TENANT_ROUTES, ids=route_ids(TENANT_ROUTES))
def test_clinic_a_staff_get_not_found_for_clinic_b_objects_and_nothing_changes(
    route: Route, world: World
) -> None:
    """GET and POST with clinic B's ids: 403/404, no write, no clinic B name in any answer."""
    path = url_for(route, world, "b")
    data = POST_DATA.get(route.matrix_key)
    before = app_rows()
    for user in (world.alice, world.adam, world.cora):
        client = world.client(user)
        for method in ("GET", "POST"):
            response = client.get(path) if method == "GET" else post_with_token(client, path, data)
            # A POST-only view answers a GET with 405 before looking anything up.
            expected = {403, 404, 405} if method == "GET" else {403, 404}
            assert response.status_code in expected, (
                f"{user.email} {method} {path} (clinic B's object): {describe(response)}"
            )
            body = response.content.decode("utf-8", errors="replace")
            leaked = [s for s in SENTINELS if s in body]
            assert not leaked, f"{user.email} {method} {path} shows clinic B's {leaked}"
    assert changed_tables(before, app_rows()) == []


def test_tenant_routes_are_found() -> None:
    """The T16 walk is not empty: the object URLs of patients and memberships are in it."""
    names = {r.view_name for r in TENANT_ROUTES}
    assert {"patients:detail", "clinics:membership_role"} <= names


# --- T30: CSRF on every URL (that GET never writes is checked with T18 above) ------------------

ROLE_PREFERENCE = (PROFESSIONAL, CLINIC_ADMIN, COUNSELLOR, PATIENT, SUPERUSER)


@pytest.mark.django_db
@pytest.mark.parametrize("route", WALKED, ids=route_ids(WALKED))
def test_post_without_csrf_token_is_refused_on_every_url(
    route: Route, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A verified user allowed on the view, POSTing without the token, gets 403 and no write."""
    allowed = MATRIX.get(route.matrix_key, NOBODY)
    role = next((r for r in ROLE_PREFERENCE if r in allowed), PROFESSIONAL)
    client = world.client(user_of(world, role))  # holds the cookie, not the form token
    path = url_for(route, world)
    before = app_rows()
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        response = client.post(path, POST_DATA.get(route.matrix_key, {}))
    assert response.status_code == 403, f"{role} POST {path}: {describe(response)}"
    assert any(r.name == "django.security.csrf" for r in caplog.records), (
        f"POST {path} was refused, but not by the CSRF check"
    )
    assert changed_tables(before, app_rows()) == []


# --- T31 (reads): the access log of every patient URL --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", PATIENT_ROUTES, ids=route_ids(PATIENT_ROUTES))
def test_staff_read_of_patient_url_writes_complete_access_log_entry(
    route: Route, world: World
) -> None:
    """A GET by Alice of Paul's record logs who, role, clinic, patient, address and browser."""
    earlier = list(AccessLogEntry.objects.values_list("pk", flat=True))
    response = world.client(world.alice).get(url_for(route, world))
    assert response.status_code == 200, describe(response)
    entries = AccessLogEntry.objects.exclude(pk__in=earlier).filter(patient=world.patient_a)
    assert entries, f"GET {route.view_name} wrote no access log entry for the patient"
    for entry in entries:
        assert entry.user_id == world.alice.pk
        assert entry.user_label == world.alice.email
        assert entry.role == Role.PROFESSIONAL
        assert entry.clinic_id == world.clinic_a.pk
        assert entry.action in {AccessAction.READ, AccessAction.EXPORT}
        assert entry.ip_address == "127.0.0.1"
        assert entry.user_agent == USER_AGENT


def test_patient_routes_are_found() -> None:
    """The T31 walk is not empty."""
    assert "patients:detail" in route_ids(PATIENT_ROUTES)


# --- T19: mass assignment -----------------------------------------------------------------------

PRIVILEGE_FIELDS = {"is_staff": "on", "is_superuser": "on", "role": Role.CLINIC_ADMIN}


def _foreign_fields(world: World) -> dict[str, object]:
    """Fields no portal form has, pointing at clinic B and at the operator's account."""
    return {
        "clinic": world.clinic_b.pk,
        "clinic_id": world.clinic_b.pk,
        "user": world.oscar.pk,
        "user_id": world.oscar.pk,
        **PRIVILEGE_FIELDS,
    }


def _privileges(*users: User) -> list[tuple[bool, bool, bool]]:
    return [
        (u.is_staff, u.is_superuser, u.is_active)
        for u in User.objects.filter(pk__in=[u.pk for u in users]).order_by("pk")
    ]


@pytest.mark.django_db
def test_patient_create_ignores_clinic_account_and_privilege_fields(world: World) -> None:
    """A forged create form lands the record in Alice's clinic, unlinked, nobody promoted."""
    privileges = _privileges(world.alice, world.oscar)
    in_b = Patient.objects.for_clinic(world.clinic_b).count()
    response = post_with_token(
        world.client(world.alice),
        reverse("patients:create"),
        {**POST_DATA["patients:create"], **_foreign_fields(world)},
    )
    assert redirect_target(response) == "patients:detail", describe(response)
    created = Patient.objects.latest("pk")
    assert created.given_name == "Ingevoegd"
    assert created.clinic_id == world.clinic_a.pk
    assert created.user_id is None
    assert Patient.objects.for_clinic(world.clinic_b).count() == in_b
    assert _privileges(world.alice, world.oscar) == privileges
    assert Membership.objects.get(user=world.alice).role == Role.PROFESSIONAL


@pytest.mark.django_db
def test_patient_edit_ignores_clinic_account_and_privilege_fields(world: World) -> None:
    """A forged edit form changes the profile only: clinic and linked account stay."""
    privileges = _privileges(world.alice, world.oscar, world.paul)
    response = post_with_token(
        world.client(world.alice),
        reverse("patients:edit", kwargs={"patient_id": world.patient_a.pk}),
        {**POST_DATA["patients:edit"], **_foreign_fields(world)},
    )
    assert redirect_target(response) == "patients:detail", describe(response)
    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert patient.given_name == "Gewijzigd"
    assert patient.clinic_id == world.clinic_a.pk
    assert patient.user_id == world.paul.pk
    assert _privileges(world.alice, world.oscar, world.paul) == privileges


@pytest.mark.django_db
def test_staff_invite_ignores_clinic_and_privilege_fields(world: World) -> None:
    """A forged invitation is for Adam's clinic, with the chosen role, and promotes nobody."""
    privileges = _privileges(world.adam, world.oscar)
    fields = {**_foreign_fields(world), "email": "nieuw@noord.example", "role": Role.PROFESSIONAL}
    fields["created_by"] = world.oscar.pk
    response = post_with_token(world.client(world.adam), reverse("clinics:staff_invite"), fields)
    assert redirect_target(response) == "clinics:staff", describe(response)
    invitation = StaffInvitation.objects.get(email="nieuw@noord.example")
    assert invitation.clinic_id == world.clinic_a.pk
    assert invitation.role == Role.PROFESSIONAL
    assert invitation.created_by_id == world.adam.pk
    assert not StaffInvitation.objects.for_clinic(world.clinic_b).filter(
        email="nieuw@noord.example"
    )
    assert _privileges(world.adam, world.oscar) == privileges


@pytest.mark.django_db
def test_membership_role_change_ignores_clinic_account_and_privilege_fields(world: World) -> None:
    """A forged role form changes the role only: the membership keeps its clinic and person."""
    membership = world.membership("a")  # Cora's
    privileges = _privileges(world.cora, world.adam, world.oscar)
    fields = {**_foreign_fields(world), "role": Role.PROFESSIONAL, "is_active": ""}
    response = post_with_token(
        world.client(world.adam),
        reverse("clinics:membership_role", kwargs={"membership_id": membership.pk}),
        fields,
    )
    assert redirect_target(response) == "clinics:staff", describe(response)
    membership.refresh_from_db()
    assert membership.role == Role.PROFESSIONAL
    assert membership.clinic_id == world.clinic_a.pk
    assert membership.user_id == world.cora.pk
    assert membership.is_active
    assert _privileges(world.cora, world.adam, world.oscar) == privileges
    assert not Membership.objects.filter(user=world.oscar).exists()


@pytest.mark.django_db
def test_signup_by_invitation_ignores_privilege_fields(world: World) -> None:
    """Signing up through a patient invitation with is_staff/is_superuser gives a plain account."""
    client = csrf_client()
    invitation = reverse("invitations:patient", kwargs={"token": world.patient_tokens["a"]})
    assert client.get(invitation).status_code == 200  # remembers the invitation in the session
    response = post_with_token(
        client,
        reverse("account_signup"),
        {
            "email": "pieter@patient.example",
            "password1": "a long enough passphrase 2024",
            "password2": "a long enough passphrase 2024",
            "date_of_birth": "1980-02-03",
            **_foreign_fields(world),
        },
    )
    assert response.status_code == 302, describe(response)
    user = User.objects.get(email="pieter@patient.example")
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert not user.memberships.exists()


@pytest.mark.django_db
def test_clinic_settings_ignore_name_and_other_clinic_fields(world: World) -> None:
    """A forged settings form changes Adam's clinic's MFA policy only, never a name or clinic B."""
    clinics_before = list(Clinic.objects.order_by("pk").values("pk", "name"))
    policy_b = Clinic.objects.get(pk=world.clinic_b.pk).requires_patient_mfa
    privileges = _privileges(world.adam, world.oscar)
    response = post_with_token(
        world.client(world.adam),
        reverse("clinics:settings"),
        {**_foreign_fields(world), "name": "Overgenomen", "requires_patient_mfa": ""},
    )
    assert redirect_target(response) == "clinics:settings", describe(response)
    assert Clinic.objects.get(pk=world.clinic_a.pk).requires_patient_mfa is False
    assert Clinic.objects.get(pk=world.clinic_b.pk).requires_patient_mfa == policy_b
    assert list(Clinic.objects.order_by("pk").values("pk", "name")) == clinics_before
    assert _privileges(world.adam, world.oscar) == privileges
