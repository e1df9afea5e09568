"""A patient's measurements as a FHIR R4 Bundle (type collection), validated with fhir.resources.

Each reading is an Observation: LOINC (or the portal's local code system, see patients.kinds),
UCUM units, `subject` = the Patient entry, `device` = a Device entry per device name, category
vital-signs or activity, `effectiveDateTime` with its offset. Blood pressure is the panel
85354-9 with systolic, diastolic, heart-rate and (local) irregular-heartbeat components. The
Patient entry carries only the portal's record identifier: the EHR matches it to its own patient,
and no identifying data travel in the file (data minimisation).

fhir.resources' R4B models are the R4 structures for every element used here.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from fhir.resources.R4B.bundle import Bundle

from patients.kinds import (
    BLOOD_PRESSURE,
    DIASTOLIC_LOINC,
    HEART_RATE_LOINC,
    KINDS,
    LOCAL_SYSTEM,
    LOINC,
    SYSTOLIC_LOINC,
)
from patients.models import Measurement, Patient

UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_ID_SYSTEM = "urn:clinic-portal:patient-record"
ACTIVITY_KINDS = {"steps", "sleep_duration", "activity_minutes"}
# Namespace for stable entry ids: the same reading gets the same fullUrl in every export.
NAMESPACE = uuid.UUID("6f1d0c52-3c1e-4a5e-9d59-0f5bb1a8c001")


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '|'.join(map(str, parts)))}"


def _quantity(value: float | int, unit: str, display: str) -> dict:
    return {"value": value, "unit": display or unit, "system": UCUM, "code": unit}


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _observation(m: Measurement, patient_ref: str, device_ref: str | None) -> dict:
    kind = KINDS[m.kind]
    system, code = kind.coding
    category = "activity" if m.kind in ACTIVITY_KINDS else "vital-signs"
    resource: dict = {
        "resourceType": "Observation",
        "id": str(m.pk),
        "status": "final",
        "category": [_coding(CATEGORY_SYSTEM, category, category.replace("-", " ").title())],
        "code": _coding(system, code, str(kind.label)),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": m.measured_at.isoformat(),
        "issued": m.received_at.isoformat(),
    }
    if device_ref:
        resource["device"] = {"reference": device_ref, "display": m.device}
    if m.kind == BLOOD_PRESSURE:
        components = [
            (LOINC, SYSTOLIC_LOINC, "Systolic blood pressure", m.systolic, "mm[Hg]", "mmHg"),
            (LOINC, DIASTOLIC_LOINC, "Diastolic blood pressure", m.diastolic, "mm[Hg]", "mmHg"),
            (LOINC, HEART_RATE_LOINC, "Heart rate", m.pulse, "/min", "/min"),
        ]
        resource["component"] = [
            {"code": _coding(sys, c, text), "valueQuantity": _quantity(v, unit, display)}
            for sys, c, text, v, unit, display in components
            if v is not None
        ]
        if m.irregular_heartbeat is not None:
            resource["component"].append(
                {
                    "code": _coding(LOCAL_SYSTEM, "irregular_heartbeat", "Irregular heartbeat"),
                    "valueBoolean": m.irregular_heartbeat,
                }
            )
    else:
        number = float(m.value) if kind.decimals else int(m.value)
        resource["valueQuantity"] = _quantity(number, kind.unit, kind.unit_display)
    return resource


def measurements_bundle(
    *, patient: Patient, measurements: QuerySet[Measurement] | Iterable[Measurement]
) -> dict:
    """The Bundle as a dict, after validation against fhir.resources' models."""
    patient_ref = _urn("patient", patient.clinic_id, patient.pk)
    entries: list[dict] = [
        {
            "fullUrl": patient_ref,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(patient.pk)}],
            },
        }
    ]
    devices: dict[str, str] = {}
    observations = []
    for m in measurements:
        device_ref = None
        if m.device:
            if m.device not in devices:
                devices[m.device] = _urn("device", patient.pk, m.device)
                entries.append(
                    {
                        "fullUrl": devices[m.device],
                        "resource": {
                            "resourceType": "Device",
                            "deviceName": [{"name": m.device, "type": "user-friendly-name"}],
                            "patient": {"reference": patient_ref},
                        },
                    }
                )
            device_ref = devices[m.device]
        observations.append(
            {
                "fullUrl": _urn("observation", m.pk),
                "resource": _observation(m, patient_ref, device_ref),
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
        "entry": entries + observations,
    }
    Bundle.model_validate(bundle)  # raises on anything the R4 models refuse
    return bundle
