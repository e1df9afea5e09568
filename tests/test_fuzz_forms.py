"""Fuzzed form input on the entry forms (SECURITY.md T22).

Hypothesis posts arbitrary values (unicode, huge, NaN, infinities, negative, empty, missing,
repeated keys) to every field of the manual measurement entry (professional and patient), the
patient create and edit forms, the staff invitation and the record document uploads (staff and
patient: any title, any box value, any file name and bytes). Whatever arrives:
- the answer is 2xx, 3xx or 4xx, never a 500 (the test client re-raises a view's exception);
- when it is not the form's success redirect, no table changed, whatever it holds (a checksum of
  every table but the access log, sessions and login throttling, which record the visit itself);
- when it is, exactly the expected row was written, with the posted values (and a measurement
  passes `reading_problems`, the same rules imports obey).

Each example runs in a savepoint that is rolled back, so the examples start from the same
database. The @given function is nested in the test, so the fixtures (people, signed-in clients)
are made once per test, and the test can check afterwards that both outcomes, accepted and
refused, were exercised.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinics.models import Role, StaffInvitation
from documents.file_types import ACCEPTED_TYPES
from documents.models import RecordDocument
from documents.tests import samples
from exercises import services as exercise_services
from exercises.base_library import base_library_ensure
from exercises.models import Exercise, ExerciseLog, Program, SessionLog
from patients.imports.base import Reading
from patients.kinds import BLOOD_PRESSURE, BP_LIMITS, KINDS
from patients.measurements.validation import reading_problems
from patients.models import Measurement, MeasurementSource, Patient

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,  # no .hypothesis directory in the shared tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Tables that record the request itself rather than the form's effect.
NOT_COMPARED = ("clinics_accesslogentry", "django_session", "axes_", "django_admin_log")

# --- strategies ----------------------------------------------------------------------------------

# Lone surrogates cannot be sent as UTF-8 at all: a browser cannot post them either.
CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.text(CHARS, max_size=80)
HUGE = st.builds(
    lambda s, n: s * n, st.text(CHARS, min_size=1, max_size=4), st.integers(200, 700_000)
)
NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(-(10**40), 10**40).map(str),
    st.floats().map(str),
    st.decimals().map(str),
)
NASTY = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "NaN", "-nan", "Infinity", "-inf", "1e309", "1e-400", "-1", "-0",
     "0", "0x1F", "1_000", "12,5", "１２０", "٣٤", "Ⅻ", "\u202e120", "<script>alert(1)</script>",
     "' OR 1=1 --", "%s%n", "{{ 7*7 }}", "\r\n", "0000-00-00", "9999-12-31T23:59",
     "0001-01-01T00:00", "0001-01-01", "2025-03-30T02:30", "2024-10-27T02:30", "2024-02-30",
     "-2024-01-01", "10000-01-01"]
)  # fmt: skip
GARBAGE = st.one_of(NASTY, TEXT, NUMBERS, HUGE)


def sent(value: st.SearchStrategy[str]) -> st.SearchStrategy[str | list[str]]:
    """A field's value as posted: usually one value, sometimes the key repeated."""
    return st.one_of(value, st.lists(value, min_size=2, max_size=3))


def posted(data: dict, key: str) -> str:
    """What Django reads for a key: the last of repeated values; a missing key is empty."""
    value = data.get(key, "")
    return value[-1] if isinstance(value, list) else value


def mutated(valid: st.SearchStrategy[dict], keys: tuple[str, ...]) -> st.SearchStrategy[dict]:
    """A valid form with one field garbled, repeated or left out."""

    def garble(form: dict, key: str, value: str | list[str] | None) -> dict:
        changed = {k: v for k, v in form.items() if k != key}
        return changed if value is None else {**changed, key: value}

    return st.builds(garble, valid, st.sampled_from(keys), st.none() | sent(GARBAGE))


def fuzzed(valid: st.SearchStrategy[dict], keys: tuple[str, ...]) -> st.SearchStrategy[dict]:
    """Valid forms, valid forms with one bad field, and anything at all in every field."""
    anything = st.fixed_dictionaries({}, optional={k: sent(GARBAGE) for k in keys})
    return st.one_of(valid, mutated(valid, keys), anything)


def local_input(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


PAST = st.timedeltas(datetime.timedelta(minutes=10), datetime.timedelta(days=365 * 30))


@st.composite
def valid_measurement(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(sorted(KINDS)))
    form = {"kind": kind, "measured_at": local_input(timezone.now() - draw(PAST))}
    if kind == BLOOD_PRESSURE:
        systolic = draw(st.integers(BP_LIMITS.diastolic[0] + 1, BP_LIMITS.systolic[1]))
        low, high = BP_LIMITS.diastolic[0], min(systolic - 1, BP_LIMITS.diastolic[1])
        form |= {"systolic": str(systolic), "diastolic": str(draw(st.integers(low, high)))}
        form |= {"pulse": str(draw(st.integers(*BP_LIMITS.pulse)))} if draw(st.booleans()) else {}
        form |= {"irregular_heartbeat": "on"} if draw(st.booleans()) else {}
    else:
        spec = KINDS[kind]
        value = draw(st.decimals(spec.minimum, spec.maximum, places=3))
        form["value"] = str(value)
    return form


MEASUREMENT_KEYS = (
    "kind", "measured_at", "value", "systolic", "diastolic", "pulse", "irregular_heartbeat",
)  # fmt: skip

NAME = st.text(st.characters(categories=("L", "M", "Zs", "Pd")), min_size=1, max_size=100)
DAYS = st.dates(datetime.date(1900, 1, 1), datetime.date.today() - datetime.timedelta(days=1))
# Addresses Django's validator accepts, long ones included (a 254-character column).
LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=63)
LOCAL_PART = st.text("abcdefghij+_-", min_size=1, max_size=64)


def email_of_length(n: int) -> str:
    """A valid address of exactly n (>= 73) characters: 63-letter labels, a 1-64 local part."""
    labels = (n - 9) // 64
    domain = ".".join(["b" * 63] * labels + ["example"])
    return "a" * (n - 1 - len(domain)) + "@" + domain


EMAIL = st.one_of(
    st.builds(
        lambda local, labels: f"{local}@{'.'.join(labels)}.example",
        LOCAL_PART,
        st.lists(LABEL, min_size=1, max_size=5),
    ),
    # Around the 254 characters an address column holds and the 320 Django's form field allows.
    st.integers(240, 330).map(email_of_length),
)
PHONE = st.text("0123456789 +-()", max_size=40)

PATIENT_KEYS = ("given_name", "family_name", "date_of_birth", "email", "phone", "notes")
VALID_PATIENT = st.fixed_dictionaries(
    {
        "given_name": NAME,
        "family_name": NAME,
        "date_of_birth": DAYS.map(datetime.date.isoformat),
        "email": st.just("") | EMAIL,
        "phone": PHONE,
        "notes": TEXT,
    }
)

INVITE_KEYS = ("email", "role")
VALID_INVITE = st.fixed_dictionaries(
    {
        "email": EMAIL | st.sampled_from(["alice@noord.example", " Adam@Noord.Example "]),
        "role": st.sampled_from(Role.values),
    }
)

# --- the database before and after ---------------------------------------------------------------


def table_checksums() -> dict[str, tuple[int, str]]:
    """Row count and an md5 of all rows of every table that holds the forms' effects."""
    qn = connection.ops.quote_name
    tables = [t for t in connection.introspection.table_names() if not t.startswith(NOT_COMPARED)]
    sql = " UNION ALL ".join(
        f"SELECT %s, count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608 (table names from introspection)
        f"FROM {qn(t)} t"
        for t in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return {name: (count, digest) for name, count, digest in cursor.fetchall()}


def changed_tables(before: dict, after: dict) -> set[str]:
    return {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


def redirects_to(response: HttpResponse, view_name: str) -> bool:
    try:
        return resolve(urlsplit(response["Location"]).path).view_name == view_name
    except Resolver404:
        return False


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever the example wrote is undone, so every example starts from the same database."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def post_and_check(
    client: Client,
    url: str,
    data: dict,
    *,
    success_view: str,
    check_success: Callable[[dict, set[str]], None],
    outcomes: Counter,
) -> None:
    with rolled_back():
        before = table_checksums()
        response: HttpResponse = client.post(url, data)
        assert response.status_code < 500, response.status_code
        changed = changed_tables(before, table_checksums())
        if response.status_code == 302 and redirects_to(response, success_view):
            outcomes["accepted"] += 1
            check_success(data, changed)
        else:
            outcomes["refused"] += 1
            assert not changed, f"{response.status_code} but {sorted(changed)} changed"


# --- manual measurement entry --------------------------------------------------------------------


def measurement_checker(patient: Patient, user: object, source: str) -> Callable:
    def check(data: dict, changed: set[str]) -> None:
        # The reading, and what the database keeps from it (LatestReading, DailyReading).
        assert changed == {
            "patients_measurement",
            "patients_latestreading",
            "patients_dailyreading",
        }
        m = Measurement.objects.get(patient=patient)
        reading = Reading(
            line=0, kind=m.kind, measured_at=m.measured_at, value=m.value, systolic=m.systolic,
            diastolic=m.diastolic, pulse=m.pulse, irregular_heartbeat=m.irregular_heartbeat,
        )  # fmt: skip
        assert reading_problems(reading) == []
        assert (m.kind, m.source, m.entered_by, m.clinic_id) == (
            posted(data, "kind"), source, user, patient.clinic_id
        )  # fmt: skip
        if m.kind == BLOOD_PRESSURE:
            assert m.systolic == int(posted(data, "systolic"))
            assert m.diastolic == int(posted(data, "diastolic"))
        else:
            assert abs(m.value - Decimal(posted(data, "value").strip())) <= Decimal("0.5")

    return check


def fuzz_measurement_entry(client: Client, url: str, page: str, check: Callable) -> Counter:
    outcomes: Counter = Counter()

    @FUZZ
    @given(data=fuzzed(valid_measurement(), MEASUREMENT_KEYS))
    def run(data: dict) -> None:
        post_and_check(client, url, data, success_view=page, check_success=check, outcomes=outcomes)

    run()
    return outcomes


def test_fuzzed_measurement_entry_by_a_professional_never_fails_or_half_writes(
    client_for, alice, patient_a
):
    """Any input to a professional's measurement entry: 4xx or a valid reading, never a 500."""
    url = reverse("patients:measurement_add", args=[patient_a.pk])
    check = measurement_checker(patient_a, alice, MeasurementSource.MANUAL_PROFESSIONAL)
    outcomes = fuzz_measurement_entry(client_for(alice), url, "patients:measurements", check)
    assert outcomes["accepted"] and outcomes["refused"]


def test_fuzzed_measurement_entry_by_the_patient_never_fails_or_half_writes(
    client_for, paul, patient_a
):
    """Any input to the patient's own measurement entry: 4xx or a valid reading, never a 500."""
    url = reverse("patients:my_measurement_add", args=[patient_a.pk])
    check = measurement_checker(patient_a, paul, MeasurementSource.MANUAL_PATIENT)
    outcomes = fuzz_measurement_entry(client_for(paul), url, "patients:my_measurements", check)
    assert outcomes["accepted"] and outcomes["refused"]


# --- patient records -----------------------------------------------------------------------------


def assert_patient_matches(patient: Patient, data: dict) -> None:
    for key in ("given_name", "family_name", "phone", "notes"):
        assert getattr(patient, key) == posted(data, key).strip(), key
    assert patient.email == posted(data, "email").strip().lower()
    assert patient.date_of_birth <= timezone.localdate()


def test_fuzzed_patient_creation_never_fails_or_half_writes(client_for, alice, clinic_a):
    """Any input to the new-patient form: 4xx or exactly one record as posted, never a 500."""
    client = client_for(alice)
    url = reverse("patients:create")
    outcomes: Counter = Counter()

    def check(data: dict, changed: set[str]) -> None:
        assert changed == {"patients_patient", "patients_patientnametoken"}
        assert_patient_matches(Patient.objects.get(clinic=clinic_a), data)

    @FUZZ
    @given(data=fuzzed(VALID_PATIENT, PATIENT_KEYS))
    def run(data: dict) -> None:
        post_and_check(
            client,
            url,
            data,
            success_view="patients:detail",
            check_success=check,
            outcomes=outcomes,
        )

    run()
    assert outcomes["accepted"] and outcomes["refused"]


def test_fuzzed_patient_edit_never_fails_or_half_writes(client_for, alice, patient_a):
    """Any input to the edit form: 4xx and the record untouched, or the record as posted."""
    client = client_for(alice)
    url = reverse("patients:edit", args=[patient_a.pk])
    outcomes: Counter = Counter()

    def check(data: dict, changed: set[str]) -> None:
        assert changed <= {"patients_patient", "patients_patientnametoken"}
        assert Patient.objects.count() == 1
        assert_patient_matches(Patient.objects.get(pk=patient_a.pk), data)

    @FUZZ
    @given(data=fuzzed(VALID_PATIENT, PATIENT_KEYS))
    def run(data: dict) -> None:
        post_and_check(
            client,
            url,
            data,
            success_view="patients:detail",
            check_success=check,
            outcomes=outcomes,
        )

    run()
    assert outcomes["accepted"] and outcomes["refused"]


# --- staff invitation ----------------------------------------------------------------------------


def test_fuzzed_staff_invitation_never_fails_or_half_writes(client_for, adam, alice, clinic_a):
    """Any input to the invitation form: 4xx or exactly one invitation as posted, never a 500."""
    client = client_for(adam)
    url = reverse("clinics:staff_invite")
    outcomes: Counter = Counter()

    def check(data: dict, changed: set[str]) -> None:
        assert changed == {"clinics_staffinvitation"}
        invitation = StaffInvitation.objects.get(clinic=clinic_a)
        assert invitation.email == posted(data, "email").strip().lower()
        assert invitation.role == posted(data, "role") and invitation.created_by == adam

    @FUZZ
    @given(data=fuzzed(VALID_INVITE, INVITE_KEYS))
    def run(data: dict) -> None:
        post_and_check(
            client,
            url,
            data,
            success_view="clinics:staff",
            check_success=check,
            outcomes=outcomes,
        )

    run()
    assert outcomes["accepted"] and outcomes["refused"]


# --- record documents ----------------------------------------------------------------------------

# Files of every kind: accepted ones, hostile ones and bytes of no kind at all.
FILE_BYTES = st.one_of(
    st.sampled_from(
        [samples.PDF, samples.image("PNG"), samples.MP4, samples.WEBM, samples.HEIC,
         samples.WINDOWS_EXE, samples.HTML_PAGE, samples.SVG_WITH_SCRIPT,
         samples.GIF_HTML_POLYGLOT, samples.PDF_HTML_POLYGLOT, b""]
    ),
    st.binary(max_size=2048),
    st.binary(min_size=1, max_size=64).map(lambda tail: samples.PDF + tail),
)  # fmt: skip
FILE_NAME = st.one_of(st.sampled_from(["brief.pdf", "foto.png", "x", ""]), TEXT)


def upload_of(content: bytes, name: str) -> SimpleUploadedFile:
    # A name with nothing after its last slash ("", "a/", "..") cannot even be built as a test
    # upload (Django refuses it on construction), so such a draw sends a plain name instead.
    if os.path.basename(name) in {"", ".", ".."}:
        name = "upload"
    return SimpleUploadedFile(name, content, "application/octet-stream")


DOCUMENT_KEYS = ("title", "staff_only")
VALID_DOCUMENT = st.fixed_dictionaries(
    {"title": TEXT, "file": st.builds(upload_of, FILE_BYTES, FILE_NAME)},
    optional={"staff_only": st.sampled_from(["on", "true", "1"])},
)


def fuzzed_document() -> st.SearchStrategy[dict]:
    """Any title and box, and a file that may be anything (or missing)."""
    fields = fuzzed(VALID_DOCUMENT, DOCUMENT_KEYS)
    return st.builds(
        lambda form, drop_file: {k: v for k, v in form.items() if k != "file" or not drop_file},
        fields,
        st.booleans(),
    )


def stored_file_names(root) -> set[str]:
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def fuzz_document_upload(
    client: Client, url: str, *, success_view: str, check: Callable, private_root
) -> Counter:
    """Post fuzzed uploads; a refused one leaves no row and no new file."""
    outcomes: Counter = Counter()

    @FUZZ
    @given(data=fuzzed_document())
    def run(data: dict) -> None:
        files_before = stored_file_names(private_root)
        refused_before = outcomes["refused"]
        post_and_check(
            client,
            url,
            data,
            success_view=success_view,
            check_success=check,
            outcomes=outcomes,
        )
        if outcomes["refused"] > refused_before:
            assert stored_file_names(private_root) == files_before

    run()
    return outcomes


def document_checker(patient: Patient, user: object, *, by_patient: bool) -> Callable:
    def check(data: dict, changed: set[str]) -> None:
        assert changed == {"documents_recorddocument"}
        document = RecordDocument.objects.get(patient=patient)
        assert document.content_type in ACCEPTED_TYPES and document.size > 0
        assert document.uploaded_by == user and document.is_from_patient == by_patient
        assert document.is_staff_only == (not by_patient and bool(posted(data, "staff_only")))
        assert document.title and len(document.title) <= 200
        assert "\x00" not in document.original_filename

    return check


def test_fuzzed_document_upload_by_a_professional_never_fails_or_leaves_a_file(
    client_for, alice, patient_a, private_root
):
    """Any title, box and file: the document as typed by content, or a refusal that stores no
    row and no file; never a 500."""
    url = reverse("documents:upload", args=[patient_a.pk])
    check = document_checker(patient_a, alice, by_patient=False)
    outcomes = fuzz_document_upload(
        client_for(alice), url, success_view="documents:detail", check=check,
        private_root=private_root,
    )  # fmt: skip
    assert outcomes["accepted"] and outcomes["refused"]


def test_fuzzed_document_upload_by_the_patient_never_fails_or_leaves_a_file(
    client_for, paul, patient_a, private_root
):
    """The patient's upload alike; whatever the box says, never staff-only."""
    url = reverse("documents:my_upload", args=[patient_a.pk])
    check = document_checker(patient_a, paul, by_patient=True)
    outcomes = fuzz_document_upload(
        client_for(paul), url, success_view="documents:my_detail", check=check,
        private_root=private_root,
    )  # fmt: skip
    assert outcomes["accepted"] and outcomes["refused"]


# --- exercise programs ---------------------------------------------------------------------------


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


ITEM_FIELDS = (
    *("exercise", "sets", "reps", "hold_seconds", "rest_seconds", "load", "times_per_day"),
    *("days_per_week", "weekdays", "note", "ORDER", "DELETE", "slot"),
)
BUILDER_KEYS = (
    *("title", "goal", "start_date", "end_date", "items-TOTAL_FORMS", "items-INITIAL_FORMS"),
    *(f"items-{n}-{f}" for n in range(2) for f in ITEM_FIELDS),
)


def valid_builder(exercise_ids: list[int]) -> st.SearchStrategy[dict]:
    @st.composite
    def build(draw: st.DrawFn) -> dict:
        start = draw(st.dates(datetime.date(2025, 1, 1), datetime.date(2027, 12, 31)))
        form = {"title": draw(TEXT.filter(str.strip)) or "Knie", "goal": draw(TEXT),
                "start_date": start.isoformat(), "end_date": "",
                "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0"}  # fmt: skip
        for n in range(2):
            form[f"items-{n}-exercise"] = str(draw(st.sampled_from(exercise_ids)))
            form[f"items-{n}-sets"] = str(draw(st.integers(1, 20)))
            form[f"items-{n}-ORDER"] = str(n + 1)
            if draw(st.booleans()):
                form[f"items-{n}-weekdays"] = [
                    str(d) for d in draw(st.sets(st.integers(1, 7), min_size=1))
                ]
        return form

    return build()


def test_fuzzed_program_builder_never_fails_and_stores_a_whole_program_or_nothing(
    client_for, alice, patient_a
):
    """Any title, dates, formset counts and item values: a program with its first version and
    items exactly as posted, or a refusal that changes nothing; never a 500."""
    base_library_ensure()
    exercise_ids = list(Exercise.objects.base().values_list("pk", flat=True)[:5])
    url = reverse("exercises:program_new", args=[patient_a.pk])
    client = client_for(alice)
    outcomes: Counter = Counter()

    def check(data: dict, changed: set[str]) -> None:
        assert changed == {"exercises_program", "exercises_programversion", "exercises_programitem"}
        program = Program.objects.get(patient=patient_a)
        version = program.current_version
        assert version.number == 1 and version.title == posted(data, "title").strip()
        for item in version.items.all():
            assert 1 <= item.sets <= 20 and (item.days_per_week is None) == bool(item.weekdays)

    @FUZZ
    @given(data=fuzzed(valid_builder(exercise_ids), BUILDER_KEYS))
    def run(data: dict) -> None:
        post_and_check(client, url, data, success_view="exercises:program", check_success=check,
                       outcomes=outcomes)  # fmt: skip

    run()
    assert outcomes["accepted"] and outcomes["refused"]


def test_fuzzed_patient_day_never_fails_and_saves_only_what_is_allowed(
    client_for, alice, paul, patient_a
):
    """Any ticks, pain, effort, comment, program and day: the day saved within its bounds, or
    refused with nothing changed; never a 500."""
    base_library_ensure()
    exercise = Exercise.objects.base().first()
    program = exercise_services.program_create(
        patient_a, alice,
        exercise_services.ProgramIn(
            title="Knie", goal="", start_date=timezone.localdate() - datetime.timedelta(days=10),
            end_date=None,
            items=[
                exercise_services.ItemIn(
                    exercise=exercise, params={**exercise.defaults(), "load": ""}
                )
            ],
        ),
    )  # fmt: skip
    item = program.current_version.items.get()
    prefix = f"p{program.pk}"
    keys = ("program", "day", f"{prefix}-item_{item.pk}", f"{prefix}-pain", f"{prefix}-effort",
            f"{prefix}-comment", "all_done")  # fmt: skip
    valid = st.fixed_dictionaries(
        {"program": st.just(str(program.pk)),
         "day": st.integers(0, 7).map(lambda n: str(timezone.localdate() - days(n))),
         f"{prefix}-item_{item.pk}": st.integers(0, item.times_per_day).map(str),
         f"{prefix}-pain": st.integers(0, 10).map(str),
         f"{prefix}-effort": st.integers(0, 10).map(str),
         f"{prefix}-comment": TEXT},
    )  # fmt: skip
    url = reverse("exercises:my_day", args=[patient_a.pk])
    client = client_for(paul)
    outcomes: Counter = Counter()

    def check(data: dict, changed: set[str]) -> None:
        assert changed <= {"exercises_exerciselog", "exercises_sessionlog", "patients_alert"}
        for log in ExerciseLog.objects.filter(program=program):
            assert 1 <= log.times <= item.times_per_day
            assert (
                timezone.localdate() - datetime.timedelta(days=7) <= log.day <= timezone.localdate()
            )
        for session in SessionLog.objects.filter(program=program):
            assert session.pain is None or 0 <= session.pain <= 10
            assert session.effort is None or 0 <= session.effort <= 10

    @FUZZ
    @given(data=fuzzed(valid, keys))
    def run(data: dict) -> None:
        post_and_check(client, url, data, success_view="exercises:my_day", check_success=check,
                       outcomes=outcomes)  # fmt: skip

    run()
    assert outcomes["accepted"] and outcomes["refused"]
