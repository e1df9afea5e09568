"""Issue 12, first part: the exercise library, templates, programs with versions, and the
patient's day. The URL walks (tests/test_url_matrix.py, test_record_access.py) cover roles,
tenancy and CSRF of every URL here."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinics.models import AccessLogEntry, AccessPart
from exercises import reminders, selectors, services
from exercises.base_library import DATA_FILE, base_library_entries
from exercises.models import (
    Equipment,
    Exercise,
    ExerciseLog,
    Program,
    ProgramTemplate,
    Region,
    SessionLog,
    Tag,
)
from exercises.pain import PAIN_ALERT_KIND, pain_alert_evaluate
from exercises.services import ItemIn, ProgramIn
from exercises.timeline import patient_timeline
from patients.measurements.alerts import alert_raise
from patients.models import Alert, RuleType
from patients.tests.factories import add_measurement

pytestmark = pytest.mark.django_db


def base(key: str) -> Exercise:
    return Exercise.objects.base().get(key=key)


def any_base(n: int = 0) -> Exercise:
    return Exercise.objects.base().order_by("key")[n]


def item(exercise: Exercise, **params) -> ItemIn:
    return ItemIn(exercise=exercise, params={**exercise.defaults(), "load": "", **params})


def program_for(patient, user, *exercises, start=None, end=None, title="Knie week 1-2") -> Program:
    start = start or timezone.localdate() - datetime.timedelta(days=10)
    return services.program_create(
        patient,
        user,
        ProgramIn(
            title=title,
            goal="Trap op zonder pijn",
            start_date=start,
            end_date=end,
            items=[item(e) for e in exercises or (any_base(0), any_base(1))],
        ),
    )


def builder_post(rows: list[dict], **program) -> dict:
    data = {
        "title": "Knie",
        "goal": "Fietsen",
        "start_date": timezone.localdate().isoformat(),
        "end_date": "",
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "40",
        **program,
    }
    for n, row in enumerate(rows):
        for name, value in row.items():
            data[f"items-{n}-{name}"] = value
    return data


# --- the base library ------------------------------------------------------------------------


def test_base_library_ships_as_data_with_both_languages():
    entries = base_library_entries(DATA_FILE)
    assert len(entries) >= 60
    assert Exercise.objects.base().count() == len(entries)
    regions = {e["region"] for e in entries}
    assert regions >= {
        "neck",
        "shoulder",
        "lower_back",
        "hip",
        "knee",
        "ankle_foot",
        "core",
        "balance",
    }
    for exercise in Exercise.objects.base():
        assert exercise.name_nl and exercise.name_en and exercise.name_nl != exercise.name_en
        assert len(exercise.instructions_nl.splitlines()) >= 3
        assert set(exercise.equipment) <= set(Equipment.values)
        assert set(exercise.tags) <= set(Tag.values) and exercise.region in Region.values
        exercise.full_clean()


def test_library_search_in_either_language_and_filters(client_for, alice):
    client = client_for(alice)
    knee = Exercise.objects.base().filter(region=Region.KNEE).first()
    word = knee.name_en.split()[0]
    page = client.get(reverse("exercises:library"), {"q": word, "region": "knee"})
    assert page.status_code == 200
    assert knee.name_nl in page.content.decode()  # Dutch interface shows the Dutch name
    page = client.get(reverse("exercises:library"), {"q": knee.name_nl.split()[0]})
    assert knee.name_nl in page.content.decode()
    no_equipment = selectors.library(
        alice.memberships.get().clinic, selectors.LibraryFilter(equipment="none")
    )
    assert no_equipment.exists() and all(e.equipment == [] for e in no_equipment)
    band = selectors.library(
        alice.memberships.get().clinic,
        selectors.LibraryFilter(equipment="resistance_band", tag="strength"),
    )
    assert all("resistance_band" in e.equipment and "strength" in e.tags for e in band)


def test_clinic_copies_a_base_exercise_and_other_clinic_never_sees_it(client_for, alice, charlie):
    source = any_base(3)
    response = client_for(alice).post(reverse("exercises:copy", args=[source.pk]))
    copy = Exercise.objects.get(based_on=source)
    assert response.status_code == 302 and copy.clinic == alice.memberships.get().clinic
    assert copy.instructions_nl == source.instructions_nl
    other = client_for(charlie)
    assert other.get(reverse("exercises:detail", args=[copy.pk])).status_code == 404
    assert other.get(reverse("exercises:edit", args=[copy.pk])).status_code == 404
    assert (
        copy.name_nl not in other.get(reverse("exercises:library"), {"own": "on"}).content.decode()
    )
    # A base exercise is never edited by a clinic: only copied.
    assert client_for(alice).get(reverse("exercises:edit", args=[source.pk])).status_code == 404


def test_new_exercise_bad_input_changes_nothing(client_for, alice):
    before = Exercise.objects.count()
    response = client_for(alice).post(
        reverse("exercises:new"),
        {
            "name_nl": "Brug",
            "name_en": "",
            "region": "elbow",
            "difficulty": "9",
            "default_sets": "0",
        },
    )
    assert response.status_code == 200 and Exercise.objects.count() == before
    assert "errorlist" in response.content.decode() or "error" in response.content.decode()


def test_archived_exercise_leaves_the_library_but_programs_keep_it(client_for, alice, patient_a):
    own = services.exercise_copy(patient_a.clinic, alice, any_base(2))
    program = program_for(patient_a, alice, own)
    client_for(alice).post(reverse("exercises:archive", args=[own.pk]))
    own.refresh_from_db()
    assert own.archived_at is not None
    assert own not in selectors.library(patient_a.clinic, selectors.LibraryFilter())
    assert selectors.version_items(program.current_version)[0].exercise == own


# --- the builder and versions ----------------------------------------------------------------


def test_builder_saves_a_program_with_defaults_order_and_weekdays(client_for, alice, patient_a):
    first, second, third = any_base(0), any_base(1), any_base(2)
    rows = [
        {"exercise": first.pk, "ORDER": "2", "sets": "2", "reps": "12"},
        {"exercise": second.pk, "ORDER": "1", "weekdays": ["1", "3", "5"], "times_per_day": "2"},
        {"exercise": "", "ORDER": ""},  # an empty row is skipped
        {"exercise": third.pk, "ORDER": "3", "DELETE": "on"},  # removed
    ]
    response = client_for(alice).post(
        reverse("exercises:program_new", args=[patient_a.pk]), builder_post(rows)
    )
    program = Program.objects.get(patient=patient_a)
    assert response.status_code == 302
    items = selectors.version_items(program.current_version)
    assert [i.exercise for i in items] == [second, first]
    assert items[0].weekdays == [1, 3, 5] and items[0].days_per_week is None
    assert items[0].times_per_day == 2 and items[0].sets == second.default_sets  # default kept
    assert (items[1].sets, items[1].reps) == (2, 12)
    assert items[1].days_per_week == first.default_days_per_week
    assert program.current_version.goal == "Fietsen"


def test_builder_bad_input_changes_nothing(client_for, alice, patient_a, patient_b):
    client = client_for(alice)
    url = reverse("exercises:program_new", args=[patient_a.pk])
    bad = [
        builder_post([]),  # no exercise
        builder_post([{"exercise": any_base(0).pk, "sets": "0"}]),
        builder_post([{"exercise": any_base(0).pk, "days_per_week": "3", "weekdays": ["1"]}]),
        builder_post([{"exercise": "999999"}]),  # forged exercise id
        builder_post([{"exercise": any_base(0).pk}], end_date="2000-01-01"),
        builder_post([{"exercise": any_base(0).pk}], start_date="31-31-2026"),
    ]
    for data in bad:
        response = client.post(url, data)
        assert response.status_code == 200, data
    assert not Program.objects.exists()


def test_other_clinics_exercise_cannot_be_prescribed(client_for, alice, charlie, patient_a):
    theirs = services.exercise_copy(charlie.memberships.get().clinic, charlie, any_base(0))
    response = client_for(alice).post(
        reverse("exercises:program_new", args=[patient_a.pk]),
        builder_post([{"exercise": theirs.pk}]),
    )
    assert response.status_code == 200 and not Program.objects.exists()


def test_a_change_makes_a_version_and_the_record_shows_what_was_seen_when(
    client_for, alice, patient_a
):
    program = program_for(patient_a, alice, any_base(0), any_base(1))
    first_version = program.current_version
    items = selectors.version_items(first_version)
    client = client_for(alice)
    rows = [
        {"exercise": items[0].exercise_id, "slot": str(items[0].slot), "ORDER": "1", "sets": "4"},
        {"exercise": any_base(5).pk, "ORDER": "2"},
    ]
    response = client.post(
        reverse("exercises:program_edit", args=[patient_a.pk, program.pk]),
        builder_post(rows, title="Knie week 3-4", start_date=first_version.start_date.isoformat()),
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.current_version.number == 2 and program.versions.count() == 2
    now_items = selectors.version_items(program.current_version)
    assert now_items[0].slot == items[0].slot and now_items[0].sets == 4
    # Version 1 is unchanged, and its page shows it.
    assert [i.exercise_id for i in selectors.version_items(first_version)] == [
        items[0].exercise_id,
        items[1].exercise_id,
    ]
    page = client.get(reverse("exercises:program_version", args=[patient_a.pk, program.pk, 1]))
    assert items[1].exercise.name_nl in page.content.decode()
    # The day before the change, the patient followed version 1 (if the program ran then).
    today = timezone.localdate()
    before = selectors.patient_days(program.patient, today - datetime.timedelta(days=1))
    assert [d.version.number for d in before] in ([], [1])
    (followed,) = selectors.patient_days(program.patient, today)
    assert followed.version.number == 2 and followed.program == program


def test_staff_program_pages_are_access_logged(client_for, alice, patient_a):
    program = program_for(patient_a, alice)
    client = client_for(alice)
    for url in (
        reverse("exercises:programs", args=[patient_a.pk]),
        reverse("exercises:program", args=[patient_a.pk, program.pk]),
    ):
        before = AccessLogEntry.objects.count()
        assert client.get(url).status_code == 200
        entry = AccessLogEntry.objects.latest("pk")
        assert AccessLogEntry.objects.count() == before + 1
        assert entry.part == AccessPart.PROGRAM and entry.patient_id == patient_a.pk


def test_other_clinic_gets_404_for_the_program(client_for, alice, charlie, patient_a):
    program = program_for(patient_a, alice)
    other = client_for(charlie)
    assert (
        other.get(reverse("exercises:program", args=[patient_a.pk, program.pk])).status_code == 404
    )


# --- templates -------------------------------------------------------------------------------


def test_program_from_template_and_back(client_for, alice, patient_a):
    clinic = patient_a.clinic
    template = services.template_save(
        clinic, alice, None, name="Knieprothese week 1-2", goal="Buigen tot 90°", weeks=2,
        items=[item(any_base(0), sets=2), item(any_base(1))],
    )  # fmt: skip
    client = client_for(alice)
    page = client.get(
        reverse("exercises:program_new", args=[patient_a.pk]), {"template": template.pk}
    )
    body = page.content.decode()
    assert "Knieprothese week 1-2" in body and any_base(0).name_nl in body
    end = timezone.localdate() + datetime.timedelta(days=13)
    assert end.isoformat() in body
    rows = [
        {"exercise": any_base(0).pk, "ORDER": "1", "sets": "2"},
        {"exercise": any_base(1).pk, "ORDER": "2"},
    ]
    client.post(
        reverse("exercises:program_new", args=[patient_a.pk]),
        builder_post(rows, title="Knieprothese week 1-2", template=str(template.pk)),
    )
    program = Program.objects.get(patient=patient_a)
    assert program.current_version.template == template
    # ... and a program saved as a template, without the patient's goal.
    client.post(
        reverse("exercises:program_save_as_template", args=[patient_a.pk, program.pk]),
        {"name": "Eigen sjabloon"},
    )
    saved = ProgramTemplate.objects.get(name="Eigen sjabloon")
    assert saved.goal == "" and saved.items.count() == 2


def test_template_of_one_clinic_is_404_for_another(client_for, alice, charlie):
    template = services.template_save(
        alice.memberships.get().clinic,
        alice,
        None,
        name="T",
        goal="",
        weeks=None,
        items=[item(any_base(0))],
    )
    assert (
        client_for(charlie).get(reverse("exercises:template_edit", args=[template.pk])).status_code
        == 404
    )


# --- the patient's day -----------------------------------------------------------------------


def test_patient_ticks_off_logs_pain_and_sees_it_saved(client_for, alice, paul, patient_a):
    program = program_for(patient_a, alice, any_base(0), any_base(1))
    items = selectors.version_items(program.current_version)
    client = client_for(paul)
    url = reverse("exercises:my_day", args=[patient_a.pk])
    page = client.get(url)
    assert page.status_code == 200 and items[0].exercise.name_nl in page.content.decode()
    prefix = f"p{program.pk}"
    response = client.post(
        url,
        {
            "program": program.pk,
            "day": timezone.localdate().isoformat(),
            f"{prefix}-item_{items[0].pk}": "1",
            f"{prefix}-pain": "4",
            f"{prefix}-effort": "6",
            f"{prefix}-comment": "Ging goed",
        },
    )
    assert response.status_code == 302
    assert ExerciseLog.objects.get(item=items[0]).times == 1
    assert not ExerciseLog.objects.filter(item=items[1]).exists()
    session = SessionLog.objects.get(program=program)
    assert (session.pain, session.effort, session.comment) == (4, 6, "Ging goed")
    page = client.get(response["Location"]).content.decode()
    assert 'value="4" selected' in page or re.search(r'<option value="4"\s+selected', page)


def test_whole_session_and_past_days_up_to_seven(client_for, alice, paul, patient_a):
    program = program_for(patient_a, alice, any_base(0), any_base(1))
    client = client_for(paul)
    url = reverse("exercises:my_day", args=[patient_a.pk])
    week_ago = timezone.localdate() - datetime.timedelta(days=7)
    response = client.post(
        url, {"program": program.pk, "day": week_ago.isoformat(), "all_done": "1"}
    )
    assert response.status_code == 302
    assert ExerciseLog.objects.filter(program=program, day=week_ago).count() == 2
    # Eight days back is not offered: the page falls back to today, and a post for it is refused.
    too_old = timezone.localdate() - datetime.timedelta(days=8)
    with pytest.raises(ValidationError):
        services.day_log_save(
            program,
            program.current_version,
            services.DayLogIn(day=too_old, times={}, pain=3, effort=None, comment=""),
        )
    assert not SessionLog.objects.filter(day=too_old).exists()


def test_patient_cannot_log_an_item_of_another_program(
    client_for, alice, paul, patient_a, patient_b, charlie
):
    mine = program_for(patient_a, alice, any_base(0))
    theirs = program_for(patient_b, charlie, any_base(1))
    client = client_for(paul)
    url = reverse("exercises:my_day", args=[patient_a.pk])
    other_item = selectors.version_items(theirs.current_version)[0]
    response = client.post(url, {"program": theirs.pk, "day": timezone.localdate().isoformat()})
    assert response.status_code == 404
    response = client.post(
        url,
        {
            "program": mine.pk,
            "day": timezone.localdate().isoformat(),
            f"p{mine.pk}-item_{other_item.pk}": "1",
        },
    )
    assert not ExerciseLog.objects.filter(item=other_item).exists()
    # Another patient's day page is a 404.
    assert client.get(reverse("exercises:my_day", args=[patient_b.pk])).status_code == 404


def test_weekday_items_show_rest_days_and_stopped_programs_disappear(
    client_for, alice, paul, patient_a
):
    today = timezone.localdate()
    not_today = [d for d in range(1, 8) if d != today.isoweekday()][:2]
    program = services.program_create(
        patient_a,
        alice,
        ProgramIn(
            title="Schouder",
            goal="",
            start_date=today,
            end_date=None,
            items=[item(any_base(0), weekdays=not_today, days_per_week=None)],
        ),
    )
    (day,) = selectors.patient_days(patient_a, today)
    assert day.items[0].due is False and not day.all_done
    services.program_stop(program)
    page = client_for(paul).get(reverse("exercises:my_day", args=[patient_a.pk])).content.decode()
    assert "Schouder" not in page


def test_builder_labels_reach_the_script_as_json(client_for, alice, patient_a):
    page = (
        client_for(alice)
        .get(reverse("exercises:program_new", args=[patient_a.pk]))
        .content.decode()
    )
    raw = re.search(r'data-labels="([^"]+)"', page).group(1).replace("&quot;", '"')
    assert set(json.loads(raw)) == {"exercise", "up", "down"}


# --- the timeline ------------------------------------------------------------------------------


def test_timeline_puts_adherence_pain_and_measurements_on_one_axis(client_for, alice, patient_a):
    today = timezone.localdate()
    program = program_for(patient_a, alice, any_base(0), start=today - datetime.timedelta(days=13))
    item = selectors.version_items(program.current_version)[0]
    ExerciseLog.objects.create(
        clinic_id=program.clinic_id, program=program, item=item, day=today, times=item.times_per_day
    )
    SessionLog.objects.create(
        clinic_id=program.clinic_id, program=program, day=today, pain=6, effort=4
    )
    add_measurement(patient_a, 0, kind="weight", value=Decimal("81.4"))
    timeline = patient_timeline(patient_a, 30, today=today)
    chart = timeline.chart
    assert len(chart["days"]) == 30
    panels = {p["key"]: p for p in chart["panels"]}
    assert panels["pain_effort"]["series"][0]["values"][-1] == 6
    assert panels["pain_effort"]["series"][1]["values"][-1] == 4
    assert panels["weight"]["series"][0]["values"][-1] == 81.4
    assert panels["adherence"]["series"][0]["values"][-1] is not None
    response = client_for(alice).get(
        reverse("exercises:timeline", args=[patient_a.pk]), {"days": "30"}
    )
    assert response.status_code == 200 and b"data-timeline" in response.content
    assert (
        client_for(alice)
        .get(reverse("exercises:timeline", args=[patient_a.pk]), {"days": "9999"})
        .status_code
        == 200
    )  # an unknown period falls back to the default


# --- pain on the dashboard ---------------------------------------------------------------------


def _day_post(client, patient, program, day, pain):
    return client.post(
        reverse("exercises:my_day", args=[patient.pk]),
        {"program": program.pk, "day": day.isoformat(), f"p{program.pk}-pain": str(pain)},
    )


def test_three_sessions_with_high_pain_flag_the_dashboard_once(client_for, alice, paul, patient_a):
    program = program_for(patient_a, alice)
    client = client_for(paul)
    today = timezone.localdate()
    for back, pain in ((2, 7), (1, 8)):
        _day_post(client, patient_a, program, today - datetime.timedelta(days=back), pain)
    assert not Alert.objects.filter(patient=patient_a).exists()
    _day_post(client, patient_a, program, today, 9)
    alert = Alert.objects.get(patient=patient_a, kind=PAIN_ALERT_KIND)
    assert alert.detail == "NPRS 7, 8, 9" and alert.acknowledged_at is None
    _day_post(client, patient_a, program, today, 10)  # still open: not raised twice
    assert Alert.objects.filter(patient=patient_a).count() == 1
    # The professional sees it where measurement alerts are, and acknowledges it the same way.
    staff = client_for(alice)
    overview = staff.get(reverse("patients:overview", args=[patient_a.pk])).content.decode()
    assert "NPRS 7, 8, 9" in overview
    assert 'id="program"' in overview  # the program panel
    staff.post(reverse("patients:alert_ack", args=[patient_a.pk, alert.pk]))
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_a_pain_alert_raised_meanwhile_is_not_raised_twice(alice, patient_a):
    """Two evaluations at once (two days saved from two phones) both pass the check for an open
    alert; the constraint lets one insert and the other give way, without an error."""
    program = program_for(patient_a, alice)

    def pain_alert():
        return Alert(
            clinic=patient_a.clinic, patient=patient_a, rule=None, kind=PAIN_ALERT_KIND,
            rule_type=RuleType.UPPER, detail="NPRS 8, 8, 8",
        )  # fmt: skip

    assert alert_raise(pain_alert()) is True
    assert alert_raise(pain_alert()) is False  # the one that lost the race
    assert Alert.objects.filter(patient=patient_a, kind=PAIN_ALERT_KIND).count() == 1
    # Once acknowledged, the rule raises a new one.
    Alert.objects.filter(patient=patient_a).update(acknowledged_at=timezone.now())
    today = timezone.localdate()
    for back in range(3):
        SessionLog.objects.create(
            clinic=program.clinic,
            program=program,
            day=today - datetime.timedelta(days=back),
            pain=8,
        )
    assert pain_alert_evaluate(program) is not None
    assert pain_alert_evaluate(program) is None


def test_pain_three_points_above_the_first_week_flags(client_for, alice, paul, patient_a):
    today = timezone.localdate()
    program = program_for(patient_a, alice, start=today - datetime.timedelta(days=20))
    for back, pain in ((20, 1), (19, 2), (18, 2)):  # the first week: mean 1.7
        SessionLog.objects.create(
            clinic_id=program.clinic_id, program=program,
            day=today - datetime.timedelta(days=back), pain=pain,
        )  # fmt: skip
    client = client_for(paul)
    _day_post(client, patient_a, program, today - datetime.timedelta(days=2), 5)
    _day_post(client, patient_a, program, today - datetime.timedelta(days=1), 4)
    _day_post(client, patient_a, program, today, 5)  # mean 4.7: +3.0 exactly
    alert = Alert.objects.get(patient=patient_a, kind=PAIN_ALERT_KIND)
    assert alert.detail == "NPRS 1.7 → 4.7" and alert.rule_type == "change"


def test_no_rise_while_the_recent_scores_are_still_in_the_first_week(
    client_for, alice, paul, patient_a
):
    today = timezone.localdate()
    program = program_for(patient_a, alice, start=today - datetime.timedelta(days=4))
    client = client_for(paul)
    for back, pain in ((4, 1), (3, 1), (2, 5), (1, 5), (0, 6)):
        _day_post(client, patient_a, program, today - datetime.timedelta(days=back), pain)
    assert not Alert.objects.filter(patient=patient_a).exists()


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_go_out_on_the_chosen_days_only_once_and_say_nothing(
    client_for, alice, paul, patient_a, mailoutbox
):
    program_for(patient_a, alice, any_base(0))
    today = timezone.localdate()
    other_day = today.isoweekday() % 7 + 1
    response = client_for(paul).post(
        reverse("exercises:my_reminders", args=[patient_a.pk]), {"weekdays": [str(other_day)]}
    )
    assert response.status_code == 302
    assert reminders.reminders_send_due(today) == 0  # not one of the chosen days
    reminders.reminder_days_set(patient_a, [today.isoweekday(), other_day])
    assert reminders.reminders_send_due(today) == 1
    assert reminders.reminders_send_due(today) == 0  # once a day
    (mail,) = mailoutbox
    assert mail.to == [paul.email]
    text = mail.subject + mail.body
    name = selectors.version_items(Program.objects.get().current_version)[0].exercise.name_nl
    for secret in (name, "Knie", "Fysio Noord", "Paul"):
        assert secret not in text
    assert "ready" in text or "klaar" in text


def test_no_reminder_without_a_program_running(alice, paul, patient_a, mailoutbox):
    today = timezone.localdate()
    reminders.reminder_days_set(patient_a, [today.isoweekday()])
    assert reminders.reminders_send_due(today) == 0 and mailoutbox == []


def test_library_search_matches_the_start_of_words_and_reads_no_query_syntax(alice, clinic_a):
    bridge = Exercise.objects.base().get(key="hip-bridge")
    word = bridge.name_nl.split()[0]
    found = selectors.library(clinic_a, selectors.LibraryFilter(search=word[:4].upper()))
    assert bridge in found
    for typed in ("& | ! :*", "brug & !", "'); DROP TABLE exercises_exercise; --", "(((", "🦵"):
        list(selectors.library(clinic_a, selectors.LibraryFilter(search=typed)))  # no error
    assert not selectors.library(clinic_a, selectors.LibraryFilter(search="!!!")).exists()
