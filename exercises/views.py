"""The exercise library, program templates, a patient's programs and the patient's own day.

How a view reaches what it shows (patients.record_access, clinics.access):
- the library and the templates are the clinic's material, no patient's record: the team's
  roles only (`clinic_roles`);
- a patient's programs are staff pages of their record (`staff_record`, part PROGRAM): each
  request is one access-log entry;
- the patient's day names their own record (`own_record`), not logged.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles
from clinics.models import AccessPart, Role
from clinics.tenancy import get_for_clinic_or_404
from exercises import forms, media, reminders, selectors, services
from exercises import timeline as patient_timeline_module
from exercises.models import Exercise, ProgramTemplate
from patients.record_access import Scope, own_record, staff_record
from portal.middleware import upload_limit

TEAM_ROLES = (Role.PROFESSIONAL, Role.CLINIC_ADMIN)
team_only = clinic_roles(*TEAM_ROLES)
program_record = staff_record(*TEAM_ROLES, part=AccessPart.PROGRAM)


# --- the library -----------------------------------------------------------------------------


@team_only
def library(request: HttpRequest) -> HttpResponse:
    form = forms.LibrarySearchForm(request.GET or None)
    exercises = selectors.library(request.clinic, form.wanted())
    page = Paginator(exercises, selectors.LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "exercises/library.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _visible_or_404(request: HttpRequest, exercise_id: int) -> Exercise:
    exercise = selectors.exercise_visible(request.clinic, exercise_id)
    if exercise is None:
        raise Http404
    return exercise


@team_only
def exercise_detail(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _visible_or_404(request, exercise_id)
    return render(
        request,
        "exercises/exercise_detail.html",
        {"exercise": exercise, "media_form": forms.MediaForm()},
    )


@require_POST
@upload_limit("EXERCISE_MEDIA_MAX_BYTES")
@team_only
def exercise_media_add(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = get_for_clinic_or_404(
        Exercise, request.clinic, pk=exercise_id, archived_at__isnull=True
    )
    form = forms.MediaForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            media.media_add(
                clinic=request.clinic, actor=request.user, exercise=exercise,
                upload=form.cleaned_data["file"],
            )  # fmt: skip
        except ValidationError as error:
            form.add_error("file", error)
    if form.errors:
        return render(
            request,
            "exercises/exercise_detail.html",
            {"exercise": exercise, "media_form": form},
            status=400,
        )
    flash.success(request, _("The photo or video is added."))
    return redirect("exercises:detail", exercise.pk)


@team_only
def exercise_media(request: HttpRequest, media_id: uuid.UUID) -> HttpResponse:
    found = media.media_for_staff(request.clinic, media_id)
    if found is None:
        raise Http404
    return media.media_response(request, found)


@require_POST
@team_only
def exercise_media_delete(request: HttpRequest, media_id: uuid.UUID) -> HttpResponse:
    found = media.media_for_staff(request.clinic, media_id)
    if found is None:
        raise Http404
    media.media_delete(clinic=request.clinic, media=found)
    flash.success(request, _("The photo or video is removed."))
    return redirect("exercises:detail", found.exercise_id)


@own_record
def my_exercise_media(request: HttpRequest, scope: Scope, media_id: uuid.UUID) -> HttpResponse:
    found = media.media_for_patient(scope.patient, media_id)
    if found is None:
        raise Http404
    return media.media_response(request, found)


@team_only
def exercise_new(request: HttpRequest) -> HttpResponse:
    return _exercise_form(request, None)


@team_only
def exercise_edit(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = get_for_clinic_or_404(
        Exercise, request.clinic, pk=exercise_id, archived_at__isnull=True
    )
    return _exercise_form(request, exercise)


def _exercise_form(request: HttpRequest, exercise: Exercise | None) -> HttpResponse:
    form = forms.ExerciseForm(request.POST or None, instance=exercise)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        saved = services.exercise_save(request.clinic, request.user, exercise, fields)
        flash.success(request, _("The exercise is saved."))
        return redirect("exercises:detail", saved.pk)
    return render(request, "exercises/exercise_form.html", {"form": form, "exercise": exercise})


@require_POST
@team_only
def exercise_copy(request: HttpRequest, exercise_id: int) -> HttpResponse:
    source = _visible_or_404(request, exercise_id)
    copy = services.exercise_copy(request.clinic, request.user, source)
    flash.success(request, _("A copy is now among your clinic's exercises: adapt it here."))
    return redirect("exercises:edit", copy.pk)


@require_POST
@team_only
def exercise_archive(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = get_for_clinic_or_404(
        Exercise, request.clinic, pk=exercise_id, archived_at__isnull=True
    )
    services.exercise_archive(request.clinic, exercise)
    flash.success(
        request, _("The exercise is no longer in the library; programs that use it keep it.")
    )
    return redirect("exercises:library")


# --- templates -------------------------------------------------------------------------------


@team_only
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "exercises/template_list.html",
        {"templates": selectors.templates_of(request.clinic)},
    )


@team_only
def template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


@team_only
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    return _template_form(
        request, get_for_clinic_or_404(ProgramTemplate, request.clinic, pk=template_id)
    )


def _template_form(request: HttpRequest, template: ProgramTemplate | None) -> HttpResponse:
    initial = (
        {"name": template.name, "goal": template.goal, "weeks": template.weeks} if template else {}
    )
    rows = [forms.item_initial(i) for i in selectors.template_items(template)] if template else []
    form = forms.TemplateForm(request.POST or None, initial=initial)
    items = forms.ItemFormSet(
        request.POST or None, initial=rows, clinic=request.clinic, prefix="items"
    )
    if request.method == "POST" and form.is_valid() and items.is_valid():
        try:
            saved = services.template_save(
                request.clinic,
                request.user,
                template,
                name=form.cleaned_data["name"],
                goal=form.cleaned_data["goal"],
                weeks=form.cleaned_data["weeks"],
                items=items.items(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            flash.success(request, _("The template is saved."))
            return redirect("exercises:template_edit", saved.pk)
    return render(
        request,
        "exercises/template_form.html",
        {"form": form, "items": items, "template": template},
    )


@require_POST
@team_only
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    services.template_delete(get_for_clinic_or_404(ProgramTemplate, request.clinic, pk=template_id))
    flash.success(request, _("The template is deleted. Programs started from it stay as they are."))
    return redirect("exercises:templates")


# --- a patient's programs (staff) -------------------------------------------------------------


@program_record
def patient_programs(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        "exercises/patient_programs.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "programs": selectors.programs_of(scope.patient),
            "templates": selectors.templates_of(request.clinic),
        },
    )


def _program_or_404(scope: Scope, program_id: int):
    program = selectors.program_for_patient(scope.patient, program_id)
    if program is None:
        raise Http404
    return program


@program_record
def program_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    template = None
    template_id = request.GET.get("template") or request.POST.get("template")
    if template_id:
        try:
            template = get_for_clinic_or_404(ProgramTemplate, request.clinic, pk=template_id)
        except Http404:
            template = None
    initial = {"start_date": selectors.local_today()}
    rows: list[dict] = []
    if template is not None:
        initial["title"] = template.name
        initial["goal"] = template.goal
        if template.weeks:
            initial["end_date"] = initial["start_date"] + datetime.timedelta(
                days=7 * template.weeks - 1
            )
        rows = [forms.item_initial(i) | {"slot": None} for i in selectors.template_items(template)]
    return _builder(request, scope, None, initial, rows, template)


@program_record
def program_edit(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = selectors.program_with_items(_program_or_404(scope, program_id))
    version = program.current_version
    initial = {
        "title": version.title,
        "goal": version.goal,
        "start_date": version.start_date,
        "end_date": version.end_date,
    }
    rows = [forms.item_initial(i) for i in version.items.all()]
    return _builder(request, scope, program, initial, rows, None)


def _builder(
    request, scope: Scope, program, initial: dict, rows: list[dict], template
) -> HttpResponse:
    form = forms.ProgramForm(request.POST or None, initial=initial)
    items = forms.ItemFormSet(
        request.POST or None, initial=rows, clinic=request.clinic, prefix="items"
    )
    if request.method == "POST" and form.is_valid() and items.is_valid():
        try:
            data = form.program_in(items.items(), template)
            if program is None:
                program = services.program_create(scope.patient, request.user, data)
                flash.success(
                    request, _("The program is saved. The patient sees it from its start date.")
                )
            else:
                version = services.program_revise(program, request.user, data)
                flash.success(request, _("Saved as version %(n)s.") % {"n": version.number})
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(scope_url(scope, "program", program.pk))
    return render(
        request,
        "exercises/builder.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "program": program,
            "template": template,
            "form": form,
            "items": items,
        },
    )


def scope_url(scope: Scope, name: str, *args: object) -> str:
    return reverse(f"exercises:{name}", args=[scope.patient.pk, *args])


@program_record
def program_detail(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = selectors.program_with_items(_program_or_404(scope, program_id))
    return render(
        request,
        "exercises/program_detail.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "program": program,
            "version": program.current_version,
            "items": list(program.current_version.items.all()),
            "versions": selectors.program_versions(program),
            "weeks": selectors.program_adherence_weeks(program),
            "comments": selectors.program_comments(program),
            "save_as_template": forms.SaveAsTemplateForm(
                initial={"name": program.current_version.title}
            ),
        },
    )


@program_record
def timeline(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Exercise, pain and effort with the home measurements, over a chosen period."""
    try:
        days = int(request.GET.get("days", ""))
    except ValueError:
        days = patient_timeline_module.DEFAULT_PERIOD
    if days not in patient_timeline_module.PERIODS:
        days = patient_timeline_module.DEFAULT_PERIOD
    return render(
        request,
        "exercises/timeline.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "days": days,
            "periods": patient_timeline_module.PERIODS,
            "timeline": patient_timeline_module.patient_timeline(scope.patient, days),
        },
    )


@program_record
def program_version(
    request: HttpRequest, scope: Scope, program_id: int, number: int
) -> HttpResponse:
    program = _program_or_404(scope, program_id)
    version = program.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return render(
        request,
        "exercises/program_version.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "program": program,
            "version": version,
            "items": selectors.version_items(version),
        },
    )


@require_POST
@program_record
def program_stop(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = _program_or_404(scope, program_id)
    if request.POST.get("resume"):
        services.program_resume(program)
    else:
        services.program_stop(program)
    return redirect(scope_url(scope, "program", program.pk))


@require_POST
@program_record
def program_save_as_template(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = _program_or_404(scope, program_id)
    form = forms.SaveAsTemplateForm(request.POST)
    if not form.is_valid():
        flash.error(request, _("Give the template a name."))
        return redirect(scope_url(scope, "program", program.pk))
    template = services.template_from_program(
        request.clinic, request.user, program.current_version, form.cleaned_data["name"]
    )
    flash.success(request, _("Saved as the clinic template “%(name)s”.") % {"name": template.name})
    return redirect(scope_url(scope, "program", program.pk))


# --- the patient's day -----------------------------------------------------------------------


@own_record
def my_day(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Today's exercises (or one of the 7 days before), ticked off, with pain and effort."""
    days = selectors.loggable_days()
    day = forms.parse_day(request.GET.get("day") or request.POST.get("day"), days) or days[0]
    program_days = selectors.patient_days(scope.patient, day)
    if request.method == "POST":
        return _my_day_save(request, scope, day, days, program_days)
    return _my_day_page(request, scope, day, days, program_days)


def _my_day_page(
    request: HttpRequest,
    scope: Scope,
    day: datetime.date,
    days: list[datetime.date],
    program_days: list[selectors.ProgramDay],
    posted: forms.DayLogForm | None = None,
) -> HttpResponse:
    """The day's page: a form per program, the one just posted with its errors (400)."""

    def form_of(program_day: selectors.ProgramDay) -> forms.DayLogForm:
        if posted is not None and posted.prefix == f"p{program_day.program.pk}":
            return posted
        return forms.DayLogForm(
            day=program_day,
            initial=_session_initial(program_day),
            prefix=f"p{program_day.program.pk}",
        )

    return render(
        request,
        "exercises/my_day.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "day": day,
            "days": days,
            "entries": [(pd, form_of(pd)) for pd in program_days],
            "reminder_form": forms.ReminderForm(
                initial={"weekdays": selectors.reminder_days(scope.patient)}
            ),
        },
        status=400 if posted is not None else 200,
    )


@require_POST
@own_record
def my_reminders(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = forms.ReminderForm(request.POST)
    if not form.is_valid():
        flash.error(request, _("Choose the days from the list."))
    else:
        days = form.cleaned_data["weekdays"]
        reminders.reminder_days_set(scope.patient, days)
        if days:
            flash.success(request, _("Your reminder days are saved."))
        else:
            flash.success(request, _("You will get no more reminders."))
    return redirect("exercises:my_day", scope.patient.pk)


def _session_initial(program_day: selectors.ProgramDay) -> dict:
    session = program_day.session
    if session is None:
        return {}
    return {"pain": session.pain, "effort": session.effort, "comment": session.comment}


def _my_day_save(
    request: HttpRequest,
    scope: Scope,
    day: datetime.date,
    days: list[datetime.date],
    program_days: list[selectors.ProgramDay],
) -> HttpResponse:
    wanted = request.POST.get("program")
    program_day = next((pd for pd in program_days if str(pd.program.pk) == wanted), None)
    if program_day is None:
        raise Http404
    form = forms.DayLogForm(request.POST, day=program_day, prefix=f"p{program_day.program.pk}")
    if form.is_valid():
        try:
            services.day_log_save(
                program_day.program,
                program_day.version,
                services.DayLogIn(
                    day=day,
                    times=form.times(all_done="all_done" in request.POST),
                    pain=form.cleaned_data["pain"],
                    effort=form.cleaned_data["effort"],
                    comment=form.cleaned_data["comment"],
                ),
            )
        except ValidationError as error:
            flash.error(request, " ".join(error.messages))
        else:
            flash.success(request, _("Saved. Well done!"))
            return redirect(
                reverse("exercises:my_day", args=[scope.patient.pk]) + f"?day={day.isoformat()}"
            )
    return _my_day_page(request, scope, day, days, program_days, posted=form)
