"""Who a measurement page is for: a professional (any patient of the active clinic, access
logged) or the patient (their own record). The pages share one implementation per `Scope`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse

from clinics.models import AccessAction, AccessPart
from patients.models import MeasurementSource, Patient
from patients.views import staff_patient_or_404


@dataclass(frozen=True)
class Scope:
    patient: Patient
    prefix: str  # "patients:" for staff pages, "patients:my_" for the patient's own
    source: MeasurementSource

    def url(self, name: str, **kwargs: object) -> str:
        # Staff URLs name the clinic's patient, the patient's own URLs their record.
        key = "patient_id" if self.is_staff else "record_id"
        return reverse(f"{self.prefix}{name}", kwargs={key: self.patient.pk, **kwargs})

    @cached_property  # a page asks for several of them: reversed once, not once per link
    def links(self) -> dict[str, str]:
        """The scope's own pages, for templates."""
        names = ("measurements", "measurement_add", "import_new", "fhir_export")
        return {name: self.url(name) for name in names}

    @property
    def is_staff(self) -> bool:
        return self.prefix == "patients:"


def staff_scope(
    request: HttpRequest,
    patient_id: int,
    action: AccessAction,
    part: AccessPart = AccessPart.MEASUREMENTS,
) -> Scope:
    patient = staff_patient_or_404(request, patient_id, action, part)
    return Scope(patient, "patients:", MeasurementSource.MANUAL_PROFESSIONAL)


def own_scope(request: HttpRequest, record_id: int) -> Scope:
    patient = get_object_or_404(
        Patient.objects.select_related("clinic"), pk=record_id, user=request.user
    )
    return Scope(patient, "patients:my_", MeasurementSource.MANUAL_PATIENT)
