from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.imports.base import Reading
from patients.imports.generic_csv import DATE_FORMATS, ColumnMapping
from patients.kinds import BLOOD_PRESSURE, KINDS, kind_choices
from patients.measurements.validation import measured_at_problem, reading_problems
from patients.models import RuleType


class DecimalInput(forms.DecimalField):
    """A decimal in the user's language: "81,5" in Dutch, "81.5" in English (a point is read
    in Dutch too). A text field with the decimal keypad, not `type=number`: browsers read a
    number field by their own locale, and one in Dutch with an English browser dropped the
    comma ("81,5" became 815)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(localize=True, **kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")


class MeasurementForm(forms.Form):
    """Manual entry: blood pressure as systolic/diastolic/pulse, every other kind as one value."""

    kind = forms.ChoiceField(label=_("Measurement"), choices=kind_choices)
    measured_at = forms.DateTimeField(
        label=_("Measured at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    value = DecimalInput(label=_("Value"), required=False, max_digits=9, decimal_places=3)
    systolic = forms.IntegerField(label=_("Systolic (upper) mmHg"), required=False)
    diastolic = forms.IntegerField(label=_("Diastolic (lower) mmHg"), required=False)
    pulse = forms.IntegerField(label=_("Pulse /min"), required=False)
    irregular_heartbeat = forms.BooleanField(
        label=_("The monitor showed an irregular heartbeat"), required=False
    )

    def clean_measured_at(self) -> datetime.datetime:
        """The plausible range, on the field itself (the one rule: validation)."""
        measured_at = self.cleaned_data["measured_at"]
        if problem := measured_at_problem(measured_at):
            raise forms.ValidationError(problem, code="range")
        return measured_at

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        is_bp = cleaned["kind"] == BLOOD_PRESSURE
        reading = Reading(
            line=0,
            kind=cleaned["kind"],
            measured_at=cleaned["measured_at"],
            value=None if is_bp else cleaned.get("value"),
            systolic=cleaned.get("systolic") if is_bp else None,
            diastolic=cleaned.get("diastolic") if is_bp else None,
            pulse=cleaned.get("pulse") if is_bp else None,
            irregular_heartbeat=cleaned.get("irregular_heartbeat") if is_bp else None,
        )
        for problem in reading_problems(reading):
            self.add_error(None, problem)
        cleaned["reading"] = reading
        return cleaned

    @staticmethod
    def initial_now() -> dict:
        return {"measured_at": timezone.localtime().replace(second=0, microsecond=0)}


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Export file"),
        help_text=_(
            "OMRON connect CSV, Withings export (ZIP, bp.csv, weight.csv), Apple Health "
            "(export.zip or export.xml), a FHIR Bundle (JSON), or any other CSV file: you then "
            "choose its columns."
        ),
    )


class ImportMappingForm(forms.Form):
    """Which columns of a CSV that is no known export hold the date and which measurements.

    Built from the file's columns (`generic_csv.read_header`): a column that is not in the file
    is refused like any invalid choice. `cleaned_data["mapping"]` is the ColumnMapping.
    Values must be in the catalogue's units, so each kind's label names its unit.
    """

    DATE_FORMAT_LABELS = {
        "iso": _("year-month-day: 2025-12-31 07:30"),
        "dd-mm-yyyy": _("day-month-year: 31-12-2025 07:30"),
        "dd/mm/yyyy": _("day/month/year: 31/12/2025 07:30"),
    }
    BP_FIELDS = ("systolic_column", "diastolic_column", "pulse_column")

    def __init__(self, *args: object, columns: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        names = list(dict.fromkeys(c for c in columns if c))  # a repeated name is one choice
        optional = [("", _("(none)")), *((c, c) for c in names)]
        invalid = {"invalid_choice": _("The file has no column “%(value)s”.")}

        def column(label: str, *, required: bool = False, help_text: str = "") -> forms.Field:
            choices = optional[1:] if required else optional
            if required:
                choices = [("", _("Choose a column")), *choices]
            return forms.ChoiceField(
                label=label,
                choices=choices,
                required=required,
                help_text=help_text,
                error_messages={**invalid, "required": _("Choose the column with the date.")},
            )

        self.fields["datetime_column"] = column(
            _("Date (and time)"),
            required=True,
            help_text=_("A date without a time is taken at noon."),
        )
        self.fields["date_format"] = forms.ChoiceField(
            label=_("Date format"),
            choices=[(code, self.DATE_FORMAT_LABELS[code]) for code in DATE_FORMATS],
            initial="dd-mm-yyyy",
        )
        self.fields["time_column"] = column(
            _("Time, when in a column of its own"), help_text=_("For example 07:30.")
        )
        self.fields["systolic_column"] = column(_("Systolic (upper) mmHg"))
        self.fields["diastolic_column"] = column(_("Diastolic (lower) mmHg"))
        self.fields["pulse_column"] = column(_("Pulse /min"))
        for kind in KINDS.values():
            if kind.code != BLOOD_PRESSURE:
                label = f"{kind.label} ({kind.unit_display})" if kind.unit_display else kind.label
                self.fields[f"kind_{kind.code}"] = column(label)
        self.fields["device_column"] = column(_("Device name"))

    @classmethod
    def initial_for(cls, mapping: dict) -> dict[str, str]:
        """Form values for a stored mapping (ColumnMapping.to_dict()), to change it."""
        initial = {k: v for k, v in mapping.items() if k != "values" and isinstance(v, str)}
        for kind, column in (mapping.get("values") or {}).items():
            initial[f"kind_{kind}"] = column
        return initial

    def date_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("datetime_column", "date_format", "time_column")]

    def blood_pressure_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.BP_FIELDS]

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("kind_")]

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {
            name.removeprefix("kind_"): cleaned[name]
            for name in self.fields
            if name.startswith("kind_") and cleaned[name]
        }
        systolic, diastolic = cleaned["systolic_column"], cleaned["diastolic_column"]
        if bool(systolic) != bool(diastolic):
            message = _("Blood pressure needs both a systolic and a diastolic column.")
            self.add_error("diastolic_column" if systolic else "systolic_column", message)
        elif cleaned["pulse_column"] and not systolic:
            self.add_error(
                "pulse_column",
                _("A pulse belongs to a blood pressure reading: choose the systolic and diastolic "
                  "columns too, or choose the column as heart rate."),
            )  # fmt: skip
        elif not values and not systolic:
            self.add_error(None, _("Choose at least one column with measurements."))
        self._refuse_repeated_columns(cleaned)
        if not self.errors:
            cleaned["mapping"] = ColumnMapping(
                datetime_column=cleaned["datetime_column"],
                date_format=cleaned["date_format"],
                time_column=cleaned["time_column"],
                values=values,
                systolic_column=systolic,
                diastolic_column=diastolic,
                pulse_column=cleaned["pulse_column"],
                device_column=cleaned["device_column"],
            )
        return cleaned

    def _refuse_repeated_columns(self, cleaned: dict) -> None:
        """One column holds one thing: the date cannot also be a weight, nor two kinds one."""
        seen: dict[str, str] = {}
        for name in self.fields:
            column = cleaned.get(name) if name != "date_format" else ""
            if not column:
                continue
            if column in seen:
                self.add_error(
                    name,
                    _("The column “%(column)s” is already chosen for “%(other)s”.")
                    % {"column": column, "other": self.fields[seen[column]].label},
                )
            else:
                seen[column] = name


class PeriodForm(forms.Form):
    kind = forms.ChoiceField(choices=kind_choices, required=False)
    period = forms.ChoiceField(
        required=False,
        choices=[("7d", _("7 days")), ("30d", _("30 days")), ("90d", _("90 days")),
                 ("1y", _("1 year")), ("all", _("all"))],
    )  # fmt: skip

    def kind_or(self, default: str) -> str:
        return (self.cleaned_data.get("kind") if self.is_valid() else "") or default

    def period_or(self, default: str) -> str:
        return (self.cleaned_data.get("period") if self.is_valid() else "") or default


KIND_UNITS = {code: kind.unit_display for code, kind in KINDS.items()}


class ThresholdRuleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Measurement"), choices=kind_choices)
    rule_type = forms.ChoiceField(label=_("Rule"), choices=RuleType.choices)
    limit = DecimalInput(
        label=_("Limit (for blood pressure: systolic)"), required=False, max_digits=9,
        decimal_places=2,
    )  # fmt: skip
    limit_diastolic = DecimalInput(
        label=_("Diastolic limit (blood pressure only)"), required=False, max_digits=9,
        decimal_places=2,
    )  # fmt: skip
    baseline = DecimalInput(
        label=_("Baseline"),
        required=False,
        max_digits=9,
        decimal_places=2,
        help_text=_("Empty: the mean of the last 30 days."),
    )
    max_change = DecimalInput(
        label=_("Largest allowed change"), required=False, max_digits=9, decimal_places=2
    )
    days = forms.IntegerField(
        label=_("Days without a reading"), required=False, min_value=1, max_value=365
    )
