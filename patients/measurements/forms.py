from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.imports.base import Reading
from patients.kinds import BLOOD_PRESSURE, KINDS, kind_choices
from patients.measurements.validation import reading_problems


class MeasurementForm(forms.Form):
    """Manual entry: blood pressure as systolic/diastolic/pulse, every other kind as one value."""

    kind = forms.ChoiceField(label=_("Measurement"), choices=kind_choices)
    measured_at = forms.DateTimeField(
        label=_("Measured at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    value = forms.DecimalField(label=_("Value"), required=False, max_digits=9, decimal_places=3)
    systolic = forms.IntegerField(label=_("Systolic (upper) mmHg"), required=False)
    diastolic = forms.IntegerField(label=_("Diastolic (lower) mmHg"), required=False)
    pulse = forms.IntegerField(label=_("Pulse /min"), required=False)
    irregular_heartbeat = forms.BooleanField(
        label=_("The monitor showed an irregular heartbeat"), required=False
    )

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
            "(export.zip or export.xml) or a FHIR Bundle (JSON)."
        ),
    )


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
