"""Forms of the library, the program builder and the patient's day."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic
from exercises import selectors
from exercises.models import (
    EXERCISE_CONTENT_FIELDS,
    PRESCRIPTION_FIELDS,
    Difficulty,
    Equipment,
    Exercise,
    Region,
    Tag,
    Weekday,
)
from exercises.services import ItemIn, ProgramIn

MAX_ITEMS = 40


class LibrarySearchForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100)
    region = forms.ChoiceField(
        label=_("Body region"), required=False, choices=[("", _("All regions")), *Region.choices]
    )
    equipment = forms.ChoiceField(
        label=_("Equipment"),
        required=False,
        choices=[("", _("Any equipment")), ("none", _("No equipment")), *Equipment.choices],
    )
    tag = forms.ChoiceField(
        label=_("Tag"), required=False, choices=[("", _("All tags")), *Tag.choices]
    )
    own = forms.BooleanField(label=_("Only our own exercises"), required=False)

    def wanted(self) -> selectors.LibraryFilter:
        if not self.is_valid():
            return selectors.LibraryFilter()
        data = self.cleaned_data
        return selectors.LibraryFilter(
            search=data["q"].strip(),
            region=data["region"],
            equipment=data["equipment"],
            tag=data["tag"],
            own_only=data["own"],
        )


class ExerciseForm(forms.ModelForm):
    equipment = forms.MultipleChoiceField(
        label=_("Equipment"),
        required=False,
        choices=Equipment.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.MultipleChoiceField(
        label=_("Tags"), required=False, choices=Tag.choices, widget=forms.CheckboxSelectMultiple
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"), choices=Difficulty.choices, coerce=int
    )

    class Meta:
        model = Exercise
        fields = list(EXERCISE_CONTENT_FIELDS)
        labels = {
            "default_sets": _("Sets"),
            "default_reps": _("Repetitions"),
            "default_hold_seconds": _("Hold (seconds)"),
            "default_rest_seconds": _("Rest (seconds)"),
            "default_times_per_day": _("Times a day"),
            "default_days_per_week": _("Days a week"),
        }
        help_texts = {
            "instructions_nl": _("One step per line, written for the patient."),
            "instructions_en": _("One step per line, written for the patient."),
        }


class ReminderForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("E-mail me a reminder on"),
        help_text=_("The e-mail only says that your exercises are ready: nothing about them."),
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class MediaForm(forms.Form):
    file = forms.FileField(
        label=_("Photo or video"),
        help_text=_("JPEG, PNG or WebP photos; MP4, MOV or WebM videos."),
    )


class ItemForm(forms.Form):
    """One exercise of the builder. Parameters left empty in a new row take the exercise's
    defaults; a row without an exercise is ignored."""

    exercise = forms.TypedChoiceField(
        label=_("Exercise"), coerce=int, required=False, empty_value=None
    )
    slot = forms.UUIDField(required=False, widget=forms.HiddenInput)
    sets = forms.IntegerField(label=_("Sets"), min_value=1, max_value=20, required=False)
    reps = forms.IntegerField(label=_("Repetitions"), min_value=1, max_value=100, required=False)
    hold_seconds = forms.IntegerField(
        label=_("Hold (s)"), min_value=0, max_value=600, required=False
    )
    rest_seconds = forms.IntegerField(
        label=_("Rest (s)"), min_value=0, max_value=600, required=False
    )
    load = forms.CharField(label=_("Load"), max_length=60, required=False)
    times_per_day = forms.IntegerField(
        label=_("Times a day"), min_value=1, max_value=6, required=False
    )
    days_per_week = forms.IntegerField(
        label=_("Days a week"), min_value=1, max_value=7, required=False
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Or on these days"),
        choices=[(d.value, str(d.label)[:2]) for d in Weekday],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, exercise_choices: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["exercise"].choices = [
            ("", _("— choose an exercise —")),
            *(exercise_choices or []),
        ]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("days_per_week") and data.get("weekdays"):
            raise ValidationError(
                _("Choose either a number of days a week or the days themselves.")
            )
        return data


class BaseItemFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        self.clinic = clinic
        self.exercise_choices = selectors.exercise_choices(clinic)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict:
        return {**super().get_form_kwargs(index), "exercise_choices": self.exercise_choices}

    @property
    def empty_form(self) -> forms.Form:
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            exercise_choices=self.exercise_choices,
        )
        self.add_fields(form, None)
        return form

    @property
    def labels(self) -> dict[str, str]:
        """The words static/js/program-builder.js writes, in the page's language."""
        return {"exercise": gettext("Exercise %n"), "up": gettext("Up"), "down": gettext("Down")}

    def clean(self) -> None:
        # A post without the management form (or with broken counts) is refused by the formset
        # itself; the rows are only read once everything else is valid.
        if any(self.errors) or not self.management_form.is_valid():
            return
        if not self.kept_rows():
            raise ValidationError(_("Add at least one exercise."))

    def kept_rows(self) -> list[forms.Form]:
        """The rows with an exercise that are not marked for removal, in the order asked for."""
        rows = [
            form
            for form in self.ordered_forms
            if form.cleaned_data.get("exercise") and not self._should_delete_form(form)
        ]
        # Rows without an order number (a new row left blank) keep their place at the end.
        rows += [
            form
            for form in self.forms
            if form not in rows
            and form.cleaned_data.get("exercise")
            and not self._should_delete_form(form)
        ]
        return rows

    def items(self) -> list[ItemIn]:
        rows = self.kept_rows()
        exercises = selectors.exercises_by_id(
            self.clinic, [f.cleaned_data["exercise"] for f in rows]
        )
        items = []
        for form in rows:
            data = form.cleaned_data
            exercise = exercises.get(data["exercise"])
            if exercise is None:  # archived since the page was shown, or forged
                raise ValidationError(_("An exercise is no longer in the library."))
            defaults = exercise.defaults()
            params = {
                name: data[name] if data.get(name) not in (None, "") else defaults[name]
                for name in ("sets", "reps", "hold_seconds", "rest_seconds", "times_per_day")
            }
            params["load"] = data.get("load", "")
            if data.get("weekdays"):
                params["weekdays"], params["days_per_week"] = sorted(set(data["weekdays"])), None
            else:
                params["weekdays"] = []
                params["days_per_week"] = data.get("days_per_week") or defaults["days_per_week"]
            items.append(
                ItemIn(
                    exercise=exercise,
                    params=params,
                    note=data.get("note", ""),
                    slot=data.get("slot"),
                )
            )
        return items


ItemFormSet = formset_factory(
    ItemForm,
    formset=BaseItemFormSet,
    extra=3,
    can_order=True,
    can_delete=True,
    max_num=MAX_ITEMS,
    validate_max=True,
    absolute_max=MAX_ITEMS,
)


def item_initial(item: Any) -> dict:
    """A program or template item as the builder's row."""
    return {
        **{name: getattr(item, name) for name in PRESCRIPTION_FIELDS},
        "exercise": item.exercise_id,
        "slot": getattr(item, "slot", None),
        "note": item.note,
        "ORDER": item.position,
    }


class ProgramForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    goal = forms.CharField(
        label=_("Goal"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end_date = forms.DateField(
        label=_("End date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date is before the start date."))
        return data

    def program_in(self, items: list[ItemIn], template: Any = None) -> ProgramIn:
        data = self.cleaned_data
        return ProgramIn(
            title=data["title"],
            goal=data["goal"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            items=items,
            template=template,
        )


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    goal = forms.CharField(label=_("Goal"), required=False, max_length=300)
    weeks = forms.IntegerField(label=_("Weeks"), required=False, min_value=1, max_value=104)


class SaveAsTemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=120)


class DayLogForm(forms.Form):
    """The patient's day: how often each exercise was done, pain, effort and a comment."""

    pain = forms.TypedChoiceField(
        label=_("Pain today (0 = none, 10 = worst imaginable)"),
        choices=[("", "—"), *[(n, str(n)) for n in range(11)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    effort = forms.TypedChoiceField(
        label=_("Effort (0 = rest, 10 = maximal)"),
        choices=[("", "—"), *[(n, str(n)) for n in range(11)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    comment = forms.CharField(
        label=_("Comment for your physiotherapist"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, day: Any = None, **kwargs: Any) -> None:
        self.day_items = day.items if day else []
        super().__init__(*args, **kwargs)
        for entry in self.day_items:
            item = entry.item
            self.fields[f"item_{item.pk}"] = forms.TypedChoiceField(
                label=item.exercise.name,
                choices=[(n, str(n)) for n in range(item.times_per_day + 1)],
                coerce=int,
                initial=entry.times_done,
                required=False,
                empty_value=0,
                widget=forms.RadioSelect,
            )
            self.fields[f"item_{item.pk}"].day_item = entry

    def _shown(self, name: str) -> object:
        """A field's value as the page shows it: what was posted, else what was saved."""
        field = self[name]
        if not self.is_bound:
            return field.initial
        try:
            return field.field.clean(field.data)
        except ValidationError:
            return field.initial

    def shown_items(self) -> list:
        for entry in self.day_items:
            entry.shown = self._shown(f"item_{entry.item.pk}") or 0
        return self.day_items

    def shown_score(self, name: str) -> dict:
        value = self._shown(name)
        return {
            "name": name,
            "label": self.fields[name].label,
            "value": value if value != "" else None,
        }

    def times(self, *, all_done: bool = False) -> dict[int, int]:
        """Times done per item; `all_done` ticks off the whole session."""
        if all_done:
            return {e.item.pk: e.item.times_per_day for e in self.day_items if e.due is not False}
        return {e.item.pk: self.cleaned_data.get(f"item_{e.item.pk}") or 0 for e in self.day_items}


def parse_day(value: str | None, allowed: list[datetime.date]) -> datetime.date | None:
    """A `day` query value that is one of the days the patient may fill in, else None."""
    try:
        day = datetime.date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if day in allowed else None
