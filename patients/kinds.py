"""The catalogue of measurement kinds: names, units (UCUM), codes, decimals, plausible ranges.

One place for every kind the portal knows. Codes: LOINC where the reference research
(../shared/reference/device-formats.md, section 6) verified one or where public implementations
agree; otherwise a local code in the portal's own code system, said so with `is_local_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LOINC = "http://loinc.org"
LOCAL_SYSTEM = "urn:clinic-portal:measurement-kind"


@dataclass(frozen=True)
class Kind:
    code: str
    label: Promise
    unit: str  # UCUM
    unit_display: str
    decimals: int
    minimum: Decimal
    maximum: Decimal
    loinc: str = ""  # empty: no reliable standard code, the local code is used
    note: str = ""

    @property
    def is_local_code(self) -> bool:
        return not self.loinc

    @property
    def coding(self) -> tuple[str, str]:
        return (LOINC, self.loinc) if self.loinc else (LOCAL_SYSTEM, self.code)


@dataclass(frozen=True)
class BloodPressureLimits:
    systolic: tuple[int, int] = (50, 300)
    diastolic: tuple[int, int] = (25, 200)
    pulse: tuple[int, int] = (20, 250)


BLOOD_PRESSURE = "blood_pressure"
BP_LIMITS = BloodPressureLimits()
BP_PANEL_LOINC = "85354-9"
SYSTOLIC_LOINC = "8480-6"
DIASTOLIC_LOINC = "8462-4"
HEART_RATE_LOINC = "8867-4"

D = Decimal
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(BLOOD_PRESSURE, _("Blood pressure"), "mm[Hg]", "mmHg", 0, D(25), D(300),
             BP_PANEL_LOINC, "panel: systolic 8480-6, diastolic 8462-4, pulse 8867-4"),
        Kind("heart_rate", _("Heart rate"), "/min", "/min", 0, D(20), D(250), HEART_RATE_LOINC),
        Kind("weight", _("Weight"), "kg", "kg", 1, D(1), D(400), "29463-7"),
        Kind("bmi", _("BMI"), "kg/m2", "kg/m²", 1, D(8), D(100), "39156-5"),
        Kind("body_fat", _("Body fat"), "%", "%", 1, D(1), D(75), "41982-0",
             "implementations agree; not checked on loinc.org"),
        Kind("body_water", _("Body water"), "%", "%", 1, D(10), D(90), "",
             "candidate LOINC 101684-9 unverified"),
        Kind("bone_mass", _("Bone mass"), "kg", "kg", 1, D("0.1"), D(15), "",
             "candidate LOINC 101685-6 from one source only"),
        Kind("muscle_mass", _("Muscle mass"), "kg", "kg", 1, D(1), D(200), "73964-9",
             "implementations agree"),
        Kind("skeletal_muscle", _("Skeletal muscle"), "%", "%", 1, D(5), D(80), "",
             "no LOINC code exists"),
        Kind("visceral_fat", _("Visceral fat level"), "1", "", 0, D(1), D(60), "",
             "no LOINC code exists; a device index"),
        Kind("bmr", _("Basal metabolic rate"), "kcal/d", "kcal/day", 0, D(300), D(6000), "",
             "no LOINC code; SNOMED CT 165109007"),
        Kind("body_temperature", _("Body temperature"), "Cel", "°C", 1, D(30), D(45), "8310-5"),
        Kind("spo2", _("Oxygen saturation (SpO2)"), "%", "%", 0, D(50), D(100), "2708-6"),
        Kind("steps", _("Steps"), "/d", "steps/day", 0, D(0), D(100000), "41950-7",
             "implementations only"),
        Kind("sleep_duration", _("Sleep duration"), "h", "h", 1, D(0), D(24), "93832-4",
             "implementations only"),
        Kind("activity_minutes", _("Activity minutes"), "min/d", "min/day", 0, D(0), D(1440), ""),
    )
}  # fmt: skip


def kind_choices() -> list[tuple[str, Promise]]:
    return [(k.code, k.label) for k in KINDS.values()]
