"""File parsers: every export format and variant, and hostile files. Pure: no database.

The fixture files under files/ are built from the structures in
../shared/reference/device-formats.md (section 10's reconstructed samples): real headers,
invented values, no real person's data.
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from patients.imports import apple, common, detect, fhir, generic_csv, omron, withings
from patients.imports.base import ImportFormatError, Reading, RowError
from patients.imports.dates import MONTH_TABLES
from patients.imports.generic_csv import ColumnMapping, parse_generic, read_header


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """The messages are asserted in English, the source language (Dutch is the default)."""
    with translation.override("en"):
        yield


FILES = Path(__file__).parent / "files"
TZ = ZoneInfo("Europe/Amsterdam")
CET = datetime.timezone(datetime.timedelta(hours=1))


def run(parse: Callable[..., Iterator], source: bytes | str, filename: str = "upload") -> list:
    data = (FILES / source).read_bytes() if isinstance(source, str) else source
    return list(parse(io.BytesIO(data), filename=filename, tz=TZ))


def readings(items: list, kind: str | None = None) -> list[Reading]:
    return [i for i in items if isinstance(i, Reading) and kind in (None, i.kind)]


def errors(items: list) -> list[RowError]:
    return [i for i in items if isinstance(i, RowError)]


def local(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def withings_zip() -> bytes:
    names = ["bp", "weight", "other", "manual_spo2", "aggregates_steps", "account"]
    members = {f"{n}.csv": (FILES / f"withings_{n}.csv").read_bytes() for n in names}
    members["README.txt"] = (FILES / "withings_README.txt").read_bytes()
    return make_zip(members)


# --- OMRON -----------------------------------------------------------------------------------


def test_omron_english_report_reads_blood_pressure_in_the_patients_zone():
    """The 9-column English report gives BP with pulse, local times in `tz`, flags unknown."""
    items = run(omron.parse, "omron_en.csv")
    assert errors(items) == []
    first, second = readings(items)
    assert (first.line, first.systolic, first.diastolic, first.pulse) == (2, 128, 82, 66)
    assert first.measured_at == local(2025, 1, 12, 8, 12)
    assert first.measured_at.utcoffset() == datetime.timedelta(hours=1)
    assert second.measured_at == local(2025, 1, 6, 21, 40)
    assert first.irregular_heartbeat is None and first.device == ""


def test_omron_sentinel_row_is_no_value_not_an_error():
    """OMRON's INT_MIN sentinels in every value cell mean nothing was measured: no reading."""
    items = run(omron.parse, "omron_en.csv")
    assert 4 not in [i.line for i in items]


def test_omron_day_first_dates_and_12_hour_clock():
    """`21 Nov 2024` with `09:05 PM`, `05:22 am` and `12:10 am` are read as 21:05, 05:22, 00:10."""
    items = run(omron.parse, "omron_en_dayfirst_12h.csv")
    times = [r.measured_at for r in readings(items)]
    assert times == [
        local(2024, 11, 21, 21, 5),
        local(2024, 11, 21, 5, 22),
        local(2024, 11, 20, 0, 10),
    ]


def test_omron_dutch_complete_report_reads_device_and_irregular_heartbeat():
    """The Dutch 17-column report: device from Apparaat; a blank flag is unknown, `Ja` is set."""
    items = run(omron.parse, "omron_nl.csv")
    first, second = readings(items)
    assert first.measured_at == local(2025, 3, 12, 8, 14)
    assert second.measured_at == local(2025, 3, 11, 21, 2)
    assert (first.irregular_heartbeat, second.irregular_heartbeat) == (None, True)
    assert first.device == "M7 Intelli IT"


def test_omron_spanish_report_reads_month_with_dot_and_reports_a_bad_number_by_line():
    """`20 may. 2026` is read; a systolic of `abc` on line 3 is a row error, not an exception."""
    items = run(omron.parse, "omron_es.csv")
    (reading,) = readings(items)
    assert reading.measured_at == local(2026, 5, 20, 8, 53)
    assert reading.device == "HEM-7361T"
    (error,) = errors(items)
    assert error.line == 3 and "abc" in error.message


def test_omron_german_report_with_bom_semicolons_and_full_month_names():
    """The German report (BOM, `;`, `13 Juli 2026`, `2 März 2026`) is read from its 5 columns."""
    items = run(omron.parse, "omron_de_min.csv")
    assert [(r.measured_at, r.systolic, r.pulse) for r in readings(items)] == [
        (local(2026, 7, 13, 7, 45), 131, 62),
        (local(2026, 3, 2, 19, 30), 126, 70),
    ]


def test_omron_german_report_saved_by_excel_in_cp1252_is_read():
    """A German report re-saved by Excel on Windows (cp1252, `März` as one byte) still reads."""
    data = (FILES / "omron_de_min.csv").read_bytes()[3:].decode("utf-8").encode("cp1252")
    assert b"M\xe4rz" in data
    items = run(omron.parse, data)
    assert readings(items)[1].measured_at == local(2026, 3, 2, 19, 30)


def test_omron_apac_report_uses_the_time_zone_of_each_row():
    """The APAC export's `Asia/Bangkok` column sets the zone; `Detected` sets the IHB flag."""
    items = run(omron.parse, "omron_apac_bp.csv")
    first, second = readings(items)
    bangkok = ZoneInfo("Asia/Bangkok")
    assert first.measured_at == datetime.datetime(2025, 3, 14, 7, 5, tzinfo=bangkok)
    assert first.measured_at.utcoffset() == datetime.timedelta(hours=7)
    assert (first.irregular_heartbeat, second.irregular_heartbeat) == (None, True)
    assert first.device == "HEM-7141T1"


def test_omron_apac_body_composition_with_full_width_brackets():
    """The APAC body-composition file gives weight, fat %, visceral fat, BMR, muscle % and BMI."""
    items = run(omron.parse, "omron_apac_weight.csv")
    values = {r.kind: r.value for r in readings(items)}
    assert values == {
        "weight": Decimal("78.40"),
        "body_fat": Decimal("24.5"),
        "visceral_fat": Decimal("9.0"),
        "bmr": Decimal("1590"),
        "skeletal_muscle": Decimal("31.2"),
        "bmi": Decimal("25.6"),
    }
    assert readings(items)[0].device == "HBF-702T"


def test_omron_unreadable_date_is_a_row_error_with_its_line_number():
    """A date that is no date gives RowError(line) and the other rows still come through."""
    data = (FILES / "omron_en.csv").read_bytes().replace(b"Jan 6 2025", b"Foo 6 2025")
    items = run(omron.parse, data)
    (error,) = errors(items)
    assert error.line == 3 and "Foo 6 2025" in error.message
    assert len(readings(items)) == 1


def test_omron_activity_section_after_the_readings_is_not_read_as_blood_pressure():
    """A second section (`"Date","Total steps",...`) after blank lines ends the BP readings."""
    data = (FILES / "omron_en.csv").read_bytes() + b'\n\n"Date","Total steps"\nJan 6 2025,4000\n'
    items = run(omron.parse, data)
    assert errors(items) == [] and len(readings(items)) == 2


def test_omron_english_complete_report_finds_flags_by_position():
    """A 17-column report with unseen English names uses the Dutch/Spanish column positions."""
    header = (
        "Date,Time,Systolic (mmHg),Diastolic (mmHg),Pulse (bpm),Symptoms,Consumed,TruRead,"
        "IHB,Body Movement,Cuff Guide,Position,Mode,Error,AFib,Model,Notes\n"
    )
    row = "Jan 6 2025,07:00,120,80,60,-,-,-,Yes, , , , ,-, ,HEM-7600T,-\n"
    (reading,) = readings(run(omron.parse, (header + row).encode()))
    assert reading.irregular_heartbeat is True and reading.device == "HEM-7600T"


def test_omron_formula_looking_cells_stay_plain_text():
    """A device cell `=cmd|' /C calc'!A0` is kept as those characters; nothing is evaluated."""
    data = (FILES / "omron_nl.csv").read_bytes().replace(b"M7 Intelli IT", b"=cmd|' /C calc'!A0")
    items = run(omron.parse, data)
    assert readings(items)[0].device == "=cmd|' /C calc'!A0"


def test_month_tables_never_give_one_word_two_months():
    """Merging the EN/NL/DE/ES/FR tables is safe: a shared abbreviation means the same month."""
    seen: dict[str, int] = {}
    for table in MONTH_TABLES.values():
        for word, month in table.items():
            assert seen.setdefault(word, month) == month, word


# --- Withings --------------------------------------------------------------------------------


def test_withings_bp_csv_reads_blood_pressure_and_heart_rate_only_rows():
    """bp.csv: rows with systolic/diastolic are BP with pulse; a heart-rate-only row is HR."""
    items = run(withings.parse, "withings_bp.csv", "bp.csv")
    assert errors(items) == []
    bp = readings(items, "blood_pressure")
    assert [(r.systolic, r.diastolic, r.pulse) for r in bp] == [(126, 81, 64), (131, 84, 62)]
    assert bp[0].measured_at == local(2025, 3, 14, 7, 31, 12)
    (rate,) = readings(items, "heart_rate")
    assert rate.value == 71 and rate.measured_at == local(2025, 3, 13, 22, 5, 40)


def test_withings_weight_csv_derives_fat_and_water_percentages_from_the_same_row():
    """Fat mass 11.52 kg and hydration 43.36 kg at 75.76 kg are 15.21 % and 57.23 %."""
    items = run(withings.parse, "withings_weight.csv", "weight.csv")
    first = {r.kind: r.value for r in readings(items) if r.line == 2}
    assert first == {
        "weight": Decimal("75.76"),
        "body_fat": Decimal("15.21"),
        "body_water": Decimal("57.23"),
        "bone_mass": Decimal("3.19"),
        "muscle_mass": Decimal("61.03"),
    }
    assert [(r.kind, r.value) for r in readings(items) if r.line == 3] == [
        ("weight", Decimal("73.30"))
    ]


def test_withings_zip_reads_every_member_it_knows():
    """The ZIP as downloaded: BP, HR, weight, body composition, visceral fat, BMR, SpO2, steps."""
    items = run(withings.parse, withings_zip(), "data_X_1700000000.zip")
    assert errors(items) == []
    kinds = {r.kind for r in readings(items)}
    assert kinds == {
        "blood_pressure", "heart_rate", "weight", "body_fat", "body_water", "bone_mass",
        "muscle_mass", "visceral_fat", "bmr", "spo2", "steps",
    }  # fmt: skip
    # other.csv's rounded FAT_PERCENT duplicates weight.csv and a segmental value is skipped.
    assert [r.value for r in readings(items, "body_fat")] == [Decimal("15.21")]
    assert [r.value for r in readings(items, "bmr")] == [Decimal(1710)]
    assert [r.measured_at for r in readings(items, "steps")] == [
        local(2025, 3, 13, 12, 0),
        local(2025, 3, 14, 12, 0),
    ]


def test_withings_zip_row_errors_name_the_member():
    """A bad cell in a ZIP member is reported with the member's name and its line."""
    bad = (FILES / "withings_bp.csv").read_bytes().replace(b",126,", b",12x,")
    items = run(withings.parse, make_zip({"data/bp.csv": bad}))
    (error,) = errors(items)
    assert error.line == 2 and error.message.startswith("bp.csv: ")


def test_withings_french_semicolon_export_with_decimal_commas():
    """`Poids (kg);Taux de graisse (%)` with `83,9` and a day-first date is read."""
    items = run(withings.parse, "withings_weight_fr.csv", "weight.csv")
    values = {r.kind: r.value for r in readings(items)}
    assert values == {
        "weight": Decimal("83.9"),
        "body_fat": Decimal("19.4"),
        "muscle_mass": Decimal("63.1"),
    }
    assert readings(items)[0].measured_at == local(2026, 10, 1, 7, 30)


def test_withings_zip_without_its_csvs_is_refused():
    """A ZIP with no bp.csv or weight.csv is not a Withings export."""
    with pytest.raises(ImportFormatError, match="Withings"):
        run(withings.parse, make_zip({"notes.txt": b"hello"}))


# --- Apple Health ----------------------------------------------------------------------------


def test_apple_blood_pressure_duplicated_in_correlations_is_emitted_once():
    """Each BP reading appears in a Correlation and at top level: one reading each."""
    items = run(apple.parse, "apple_export.xml")
    bp = readings(items, "blood_pressure")
    assert [(r.systolic, r.diastolic, r.measured_at, r.device) for r in bp] == [
        (127, 81, datetime.datetime(2025, 3, 14, 7, 5, tzinfo=CET), "OMRON connect"),
        (122, 79, datetime.datetime(2025, 3, 13, 19, 0, tzinfo=CET), "Health"),
    ]


def test_apple_units_are_converted_to_the_catalogue():
    """lb → kg, body fat and SpO2 fractions → %, an SpO2 of 96 stays 96, °F → °C."""
    items = run(apple.parse, "apple_export.xml")
    assert [r.value for r in readings(items, "weight")] == [Decimal("75.07"), Decimal("75.2")]
    assert [r.value for r in readings(items, "body_fat")] == [Decimal("16.20")]
    assert [r.value for r in readings(items, "spo2")] == [Decimal("97.00"), Decimal("96")]
    assert [r.value for r in readings(items, "body_temperature")] == [Decimal("37.00")]
    assert [r.value for r in readings(items, "bmi")] == [Decimal("24.1")]
    (rate,) = readings(items, "heart_rate")
    assert rate.value == 72 and rate.device == "Apple Watch"


def test_apple_steps_and_exercise_are_daily_totals_of_the_busiest_source_at_noon():
    """iPhone 2000 and Watch 2200 steps the same day give 2200 (not 4200) at local noon."""
    items = run(apple.parse, "apple_export.xml")
    steps = [(r.measured_at, r.value, r.device) for r in readings(items, "steps")]
    assert steps == [
        (local(2025, 3, 14, 12, 0), Decimal(2200), "Apple Watch"),
        (local(2025, 3, 15, 12, 0), Decimal(150), "Apple Watch"),
    ]
    (minutes,) = readings(items, "activity_minutes")
    assert (minutes.measured_at, minutes.value) == (local(2025, 3, 14, 12, 0), 35)


def test_apple_sleep_is_asleep_time_per_night_without_in_bed_or_awake():
    """Core 3 h + Deep 1.5 h + REM 2.25 h = 6.75 h, placed at the wake-up time."""
    items = run(apple.parse, "apple_export.xml")
    (sleep,) = readings(items, "sleep_duration")
    assert sleep.value == Decimal("6.75")
    assert sleep.measured_at == local(2025, 3, 14, 6, 30)


def test_apple_unknown_unit_is_a_row_error_with_the_record_number():
    """A heart rate in count/s is not guessed at: RowError naming the record."""
    items = run(apple.parse, "apple_export.xml")
    (error,) = errors(items)
    assert error.line == 29 and "count/s" in error.message


def test_apple_export_zip_reads_export_xml_and_ignores_the_cda_file():
    """export.zip: apple_health_export/export.xml is read; export_cda.xml is not."""
    data = make_zip(
        {
            "apple_health_export/export_cda.xml": b"<ClinicalDocument/>",
            "apple_health_export/export.xml": (FILES / "apple_export.xml").read_bytes(),
        }
    )
    items = run(apple.parse, data, "export.zip")
    assert len(readings(items, "blood_pressure")) == 2


def test_apple_localized_export_is_found_by_its_root_element():
    """A Chinese export names its XML 导出.xml: the member with HealthData is used."""
    data = make_zip(
        {
            "apple_health_export/export_cda.xml": b"<ClinicalDocument/>",
            "apple_health_export/导出.xml": (FILES / "apple_export.xml").read_bytes(),
        }
    )
    assert len(readings(run(apple.parse, data, "导出.zip"), "blood_pressure")) == 2


def test_apple_vertical_tab_characters_of_old_exports_are_tolerated():
    """A \\x0b inside an attribute (older exports) does not break parsing."""
    data = (
        (FILES / "apple_export.xml")
        .read_bytes()
        .replace(b'sourceName="Health"', b'sourceName="He\x0balth"', 1)
    )
    assert len(readings(run(apple.parse, data), "weight")) == 2


def test_apple_xml_that_is_not_health_data_is_refused():
    """An XML file with another root element is not an Apple Health export."""
    with pytest.raises(ImportFormatError, match="Apple Health"):
        run(apple.parse, b'<?xml version="1.0"?><gpx><trk/></gpx>')


def test_apple_entity_expansion_is_refused():
    """Billion laughs: an entity declaration in the DTD refuses the file before expansion."""
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE HealthData [<!ENTITY l0 "lol">{lol}]>'
        '<HealthData locale="en"><Record type="x" sourceName="&l9;" startDate="" endDate=""/>'
        "</HealthData>"
    ).encode()
    started = time.monotonic()
    with pytest.raises(ImportFormatError, match="entities"):
        run(apple.parse, data)
    assert time.monotonic() - started < 1


def test_apple_external_entity_is_refused():
    """An external entity (a file on the server) is never resolved."""
    data = (
        b'<?xml version="1.0"?><!DOCTYPE HealthData [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<HealthData locale="en"><Record type="x" sourceName="&x;" startDate="" endDate=""/>'
        b"</HealthData>"
    )
    with pytest.raises(ImportFormatError):
        run(apple.parse, data)


def test_apple_giant_attribute_is_refused_without_buffering_it():
    """A 5 MB attribute (no entity needed) is refused once a single tag passes 1 MB."""
    data = b'<HealthData locale="en"><Record type="' + b"A" * 5_000_000 + b'"/></HealthData>'
    with pytest.raises(ImportFormatError, match="too large"):
        run(apple.parse, data)


def test_apple_element_with_a_huge_subtree_is_refused():
    """One top-level element with 20,000 children would be built in memory: refused."""
    data = b'<HealthData locale="en"><Workout>' + b"<e/>" * 20_000 + b"</Workout></HealthData>"
    with pytest.raises(ImportFormatError, match="too large"):
        run(apple.parse, data)


def test_apple_truncated_xml_is_refused():
    """An export cut off halfway is an ImportFormatError, not a partial import."""
    data = (FILES / "apple_export.xml").read_bytes()[:5000]
    with pytest.raises(ImportFormatError, match="damaged or incomplete"):
        run(apple.parse, data)


# What makes real exports big: energy and distance samples (skipped), heart rate and steps.
BULK = [
    *[("ActiveEnergyBurned", "kcal", "0.52")] * 4,
    *[("BasalEnergyBurned", "kcal", "1.1")] * 2,
    *[("DistanceWalkingRunning", "km", "0.012")] * 2,
    ("HeartRate", "count/min", "72"),
    ("StepCount", "count", "40"),
]


def _write_export(path: Path, records: int) -> None:
    """An export.xml of `records` watch samples over one year plus a fixed set of BP readings
    (a real export grows with watch samples, not with cuff readings)."""
    head = (FILES / "apple_export.xml").read_text().split("<HealthData", 1)[0]
    start = datetime.datetime(2024, 1, 1, tzinfo=CET)
    stamps = [
        (start + datetime.timedelta(minutes=10 * k)).strftime("%Y-%m-%d %H:%M:%S +0100")
        for k in range(52_560)
    ]
    record = (
        ' <Record type="HKQuantityTypeIdentifier{0}" sourceName="Apple Watch" '
        'sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x283f1c0a0&gt;, name:Apple Watch, '
        'manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;" '
        'unit="{1}" creationDate="{3}" startDate="{3}" endDate="{3}" value="{2}">\n'
        '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
    )
    with path.open("w") as out:
        out.write(head + '<HealthData locale="en_US">\n')
        for batch in range(0, records, 10_000):
            out.write(
                "".join(
                    record.format(*BULK[i % len(BULK)], stamps[i % len(stamps)])
                    for i in range(batch, min(batch + 10_000, records))
                )
            )
        for day in range(300):
            at = stamps[day * 144 + 48]
            for bp_type, value in (("Systolic", 120), ("Diastolic", 80)):
                out.write(
                    f' <Record type="HKQuantityTypeIdentifierBloodPressure{bp_type}" '
                    f'sourceName="OMRON connect" unit="mmHg" startDate="{at}" endDate="{at}" '
                    f'value="{value}"/>\n'
                )
        out.write("</HealthData>\n")


def _peak_while_parsing(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        with path.open("rb") as stream:
            for _item in apple.parse(stream, filename="export.xml", tz=TZ):
                count += 1
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_apple_import_memory_stays_flat_for_a_ten_times_larger_export(tmp_path):
    """Peak memory parsing a ~200 MB export is within 1.5× of parsing a ~20 MB one."""
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    _write_export(small, 48_000)
    _write_export(large, 480_000)
    assert 15e6 < small.stat().st_size < 30e6 and 150e6 < large.stat().st_size < 300e6
    small_peak, small_count = _peak_while_parsing(small)
    large_peak, large_count = _peak_while_parsing(large)
    assert large_count > 9 * small_count - 10_000
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


# --- Generic CSV -----------------------------------------------------------------------------

NL_MAPPING = ColumnMapping(
    datetime_column="Datum",
    time_column="Tijd",
    date_format="dd-mm-yyyy",
    values={"weight": "Gewicht"},
    systolic_column="Bovendruk",
    diastolic_column="Onderdruk",
    pulse_column="Hartslag",
    device_column="Apparaat",
)


def test_generic_read_header_offers_the_columns_and_the_delimiter():
    """The header of a Dutch spreadsheet export: its columns, `;` and the first rows."""
    header = read_header(io.BytesIO((FILES / "generic_nl.csv").read_bytes()), filename="x.csv")
    assert header.columns[:4] == ["Datum", "Tijd", "Bovendruk", "Onderdruk"]
    assert header.delimiter == ";"
    assert header.sample_rows[0][:2] == ["14-03-2025", "07:30"]


def test_generic_mapping_reads_blood_pressure_and_decimal_comma_weights():
    """With the mapping: BP with pulse, `75,4` kg, the device; bad cells are row errors."""
    items = list(
        parse_generic(
            io.BytesIO((FILES / "generic_nl.csv").read_bytes()),
            filename="x.csv",
            tz=TZ,
            mapping=NL_MAPPING,
        )
    )
    bp = readings(items, "blood_pressure")
    assert [(r.line, r.systolic, r.diastolic, r.pulse) for r in bp] == [
        (2, 128, 82, 66),
        (3, 131, 85, None),
    ]
    assert bp[0].measured_at == local(2025, 3, 14, 7, 30) and bp[0].device == "Eigen meter"
    weights = readings(items, "weight")
    assert [(r.line, r.value) for r in weights] == [(2, Decimal("75.4")), (4, Decimal("75.1"))]
    assert [(e.line, "abc" in e.message) for e in errors(items)] == [(4, True), (5, False)]


def test_generic_iso_dates_with_and_without_offset():
    """ISO timestamps: an offset is kept, a naive one is local in `tz`."""
    mapping = ColumnMapping(
        datetime_column="timestamp", values={"weight": "weight", "spo2": "spo2"}
    )
    items = list(
        parse_generic(
            io.BytesIO((FILES / "generic_iso.csv").read_bytes()),
            filename="x",
            tz=TZ,
            mapping=mapping,
        )
    )
    assert [(r.kind, r.measured_at) for r in readings(items)] == [
        ("weight", local(2025, 3, 14, 7, 30)),
        ("spo2", local(2025, 3, 14, 7, 30)),
        ("weight", datetime.datetime(2025, 3, 13, 7, 31, tzinfo=CET)),
    ]


def test_generic_mapping_naming_a_missing_column_is_refused():
    """A mapped column the file does not have is an ImportFormatError that names it."""
    mapping = ColumnMapping(datetime_column="Datum", values={"weight": "Weight"})
    with pytest.raises(ImportFormatError, match="Weight"):
        list(parse_generic(io.BytesIO(b"Datum;Gewicht\n"), filename="x", tz=TZ, mapping=mapping))


def test_generic_mapping_survives_a_round_trip_through_plain_data():
    """A mapping turned into a dict (for a Celery task) comes back equal."""
    assert ColumnMapping.from_dict(json.loads(json.dumps(NL_MAPPING.to_dict()))) == NL_MAPPING


# --- FHIR ------------------------------------------------------------------------------------


def test_fhir_bundle_maps_loinc_and_local_codes_with_unit_conversion():
    """BP panel, lb and g weights, °F, fractional SpO2, sleep in minutes, a local code."""
    items = run(fhir.parse, "fhir_bundle.json")
    values = [(r.kind, r.value) for r in readings(items) if r.kind != "blood_pressure"]
    assert values == [
        ("heart_rate", Decimal(72)),
        ("weight", Decimal("75.07")),
        ("weight", Decimal("75.20")),
        ("bmi", Decimal("24.1")),
        ("body_temperature", Decimal("37.00")),
        ("spo2", Decimal("97.00")),
        ("body_fat", Decimal("16.2")),
        ("steps", Decimal(8412)),
        ("sleep_duration", Decimal("6.75")),
        ("body_water", Decimal("57.2")),
    ]
    steps = readings(items, "steps")[0]
    assert steps.measured_at == local(2025, 3, 14, 12, 0)


def test_fhir_blood_pressure_panel_reads_components_and_the_bundles_device():
    """85354-9 with 8480-6, 8462-4, 8867-4 and the irregular-heartbeat flag, device resolved."""
    (bp,) = readings(run(fhir.parse, "fhir_bundle.json"), "blood_pressure")
    assert (bp.systolic, bp.diastolic, bp.pulse, bp.irregular_heartbeat) == (127, 81, 66, True)
    assert bp.measured_at == datetime.datetime(2025, 3, 14, 7, 5, tzinfo=CET)
    assert bp.device == "OMRON M7 Intelli IT HEM-7361T"


def test_fhir_invalid_observation_is_a_row_error_and_unstored_codes_are_skipped():
    """A dateTime without zone fails validation (entry 16); respiratory rate and
    entered-in-error observations are skipped without error."""
    items = run(fhir.parse, "fhir_bundle.json")
    (error,) = errors(items)
    assert error.line == 16 and "effectiveDateTime" in error.message
    assert 10 not in [r.line for r in readings(items)] and 15 not in [
        r.line for r in readings(items)
    ]


def _bundle(*observations: dict) -> bytes:
    entries = [
        {"resource": {"resourceType": "Observation", "status": "final", **o}} for o in observations
    ]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def _loinc(code: str) -> dict:
    return {"coding": [{"system": "http://loinc.org", "code": code}]}


def test_fhir_loose_systolic_and_diastolic_observations_are_paired():
    """Separate 8480-6 and 8462-4 observations at the same time become one BP reading."""
    at = "2025-03-14T07:05:00+01:00"
    data = _bundle(
        {
            "code": _loinc("8480-6"),
            "effectiveDateTime": at,
            "valueQuantity": {"value": 130, "code": "mm[Hg]"},
        },
        {
            "code": _loinc("8462-4"),
            "effectiveDateTime": at,
            "valueQuantity": {"value": 85, "code": "mm[Hg]"},
        },
    )
    (bp,) = readings(run(fhir.parse, data))
    assert (bp.systolic, bp.diastolic) == (130, 85)


def test_fhir_unsupported_unit_is_a_row_error():
    """A weight in stone (not a UCUM code we convert) is a row error, not a wrong number."""
    data = _bundle(
        {"code": _loinc("29463-7"), "effectiveDateTime": "2025-03-14T07:05:00+01:00",
         "valueQuantity": {"value": 12, "code": "[stone_av]"}},
    )  # fmt: skip
    (error,) = run(fhir.parse, data)
    assert isinstance(error, RowError) and "[stone_av]" in error.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"resourceType": "Patient"}', "not a FHIR Bundle"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [NaN]}', "not valid JSON"),
        (b'{"resourceType": "Bundle", "type": "nonsense-type-x", "entry": {}}', "not valid"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON|nested too deeply"),
        (b'{"resourceType": "Bundle", "x": ' + b"[" * 100 + b"]" * 100 + b"}", "nested too deeply"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_fhir_hostile_or_wrong_json_is_refused_with_a_clear_error(data, message):
    """Invalid JSON, not a Bundle, NaN, a JSON bomb (depth), non-UTF-8: ImportFormatError."""
    with pytest.raises(ImportFormatError, match=message):
        run(fhir.parse, data)


def test_fhir_file_over_the_size_limit_is_refused_before_parsing():
    """A JSON file over 50 MB is refused by its size alone."""
    data = b'{"resourceType": "Bundle", "pad": "' + b"x" * fhir.MAX_JSON_BYTES + b'"}'
    with pytest.raises(ImportFormatError, match="larger than 50 MB"):
        run(fhir.parse, data)


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("omron_en.csv", "omron"),
        ("omron_nl.csv", "omron"),
        ("omron_es.csv", "omron"),
        ("omron_de_min.csv", "omron"),
        ("omron_apac_bp.csv", "omron"),
        ("omron_apac_weight.csv", "omron"),
        ("withings_bp.csv", "withings"),
        ("withings_weight.csv", "withings"),
        ("withings_weight_fr.csv", "withings"),
        ("apple_export.xml", "apple"),
        ("fhir_bundle.json", "fhir"),
    ],
)
def test_detect_recognises_each_format_by_content_whatever_its_name(fixture, code):
    """Content decides: a file renamed to upload.dat is still recognised."""
    assert detect.detect("upload.dat", (FILES / fixture).read_bytes()[: detect.HEAD_BYTES]) == code


def test_detect_recognises_zips_by_their_member_names():
    """Apple's and Withings' ZIPs are told apart by the member names at their start."""
    apple_zip = make_zip({"apple_health_export/export.xml": b"<HealthData/>"})
    assert detect.detect("a.zip", apple_zip[:4096]) == "apple"
    assert detect.detect("b.zip", withings_zip()[:4096]) == "withings"


def test_a_zip_whose_start_does_not_tell_is_dispatched_on_its_member_list():
    """When the first members say nothing, `zip` looks at the whole list and parses."""
    data = make_zip(
        {
            "misc/notes.txt": b"x" * 10,
            "apple_health_export/export.xml": (FILES / "apple_export.xml").read_bytes(),
        }
    )
    code = detect.detect("export.zip", data[:40])
    assert code == "zip"
    assert len(readings(run(detect.parser_for(code), data), "blood_pressure")) == 2


def test_detect_falls_back_on_the_file_name():
    """An OMRON report name decides when the header is unknown; the parser then says why."""
    name = "Your Requested OMRON Report from Jan 01 2025 to Jan 22 2025.csv"
    data = b"Datum|Zeit|Sys|Dia\n"
    assert detect.detect(name, data) == "omron"
    with pytest.raises(ImportFormatError, match="systolic and diastolic"):
        run(detect.parser_for("omron"), data, name)


def test_detect_refuses_an_unknown_file():
    """Neither content nor name: ImportFormatError saying it is not a recognised export."""
    with pytest.raises(ImportFormatError, match="not a recognised export"):
        detect.detect("holiday.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(ImportFormatError, match="not a recognised export"):
        detect.parser_for("wordperfect")


def test_every_parser_carries_its_format_code():
    """The parsers satisfy the Parser protocol's `format_code`."""
    for code in ("omron", "withings", "apple", "fhir", "zip"):
        assert detect.parser_for(code).format_code == code


# --- hostile input ---------------------------------------------------------------------------


def test_wrong_delimiter_is_refused_as_missing_columns():
    """An OMRON report with `|` between its columns: ImportFormatError, not garbage readings."""
    data = (FILES / "omron_en.csv").read_bytes().replace(b",", b"|")
    with pytest.raises(ImportFormatError, match="systolic and diastolic"):
        run(omron.parse, data)


def test_missing_required_column_is_refused():
    """A Withings weight.csv without its weight column is not read."""
    with pytest.raises(ImportFormatError, match="not recognised"):
        run(withings.parse, b'Date,"Fat mass (kg)"\n"2025-03-14 07:00:00",12\n', "weight.csv")


def test_huge_line_is_refused_without_reading_it_whole():
    """A 20 MB line is refused once it passes the line cap."""
    data = (FILES / "omron_en.csv").read_bytes() + b"Jan 6 2025," + b"9" * 20_000_000 + b"\n"
    with pytest.raises(ImportFormatError, match="longer than"):
        run(omron.parse, data)


def test_huge_quoted_field_over_many_lines_is_refused():
    """A quoted cell spanning thousands of short lines is capped as one record."""
    data = (FILES / "omron_en.csv").read_bytes() + b'Jan 6 2025,08:00,"' + b"x\n" * 100_000 + b'"\n'
    with pytest.raises(ImportFormatError, match="record near line 5"):
        run(omron.parse, data)


def test_binary_file_is_refused():
    """NUL bytes: not a text file."""
    with pytest.raises(ImportFormatError, match="not a text file"):
        run(omron.parse, b"Date,Time\x00\x01\x02" * 10)


def test_invalid_utf8_after_the_first_64_kb_is_refused():
    """A UTF-8 file with a broken byte late in the file is refused with the line number."""
    row = b"Jan 6 2025,08:00,120,80,60,-,-,-,-\n"
    data = (
        (FILES / "omron_en.csv").read_bytes()
        + row * 3000
        + b"Jan 6 2025,08:00,120,80,60,-,-,-,\xff\n"
    )
    with pytest.raises(ImportFormatError, match="not valid UTF-8 text near line 3005"):
        run(omron.parse, data)


def test_utf16_export_with_a_bom_is_read():
    """Excel's "Unicode text" (UTF-16 with BOM, tabs) is read, not refused as binary."""
    text = (FILES / "omron_en.csv").read_text().replace(",", "\t")
    assert len(readings(run(omron.parse, text.encode("utf-16")))) == 2


def test_zip_bomb_is_refused_before_it_is_unpacked():
    """A member that unpacks 1000× (20 MB of zeros) is refused from its header, quickly."""
    data = make_zip({"bp.csv": b"\0" * 20_000_000})
    assert len(data) < 100_000
    started = time.monotonic()
    with pytest.raises(ImportFormatError, match="implausible size"):
        run(withings.parse, data)
    assert time.monotonic() - started < 1


def test_truncated_zip_is_refused():
    """A ZIP cut off in the download is an ImportFormatError."""
    data = withings_zip()
    with pytest.raises(ImportFormatError, match="damaged or incomplete"):
        run(withings.parse, data[: len(data) // 2])


def test_corrupted_zip_member_is_refused():
    """A member whose bytes were damaged fails its CRC: ImportFormatError, not a crash."""
    data = bytearray(
        make_zip({"bp.csv": (FILES / "withings_bp.csv").read_bytes()}, zipfile.ZIP_STORED)
    )
    data[60] ^= 0xFF  # inside the stored bp.csv bytes
    with pytest.raises(ImportFormatError, match="damaged or incomplete"):
        run(withings.parse, bytes(data))


def test_password_protected_zip_is_refused():
    """An encrypted member is refused with a message saying so."""
    data = bytearray(make_zip({"bp.csv": (FILES / "withings_bp.csv").read_bytes()}))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1
    with pytest.raises(ImportFormatError, match="password"):
        run(withings.parse, bytes(data))


def test_non_seekable_upload_streams_are_read():
    """A stream without seek (a pipe) still parses, ZIPs included (spooled with a cap)."""

    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._data.read(size)

    items = list(withings.parse(Pipe(withings_zip()), filename="x.zip", tz=TZ))
    assert len(readings(items, "blood_pressure")) == 2


def test_zlib_damage_inside_a_deflated_member_is_refused():
    """Garbage inside a deflate stream is an ImportFormatError too."""
    data = bytearray(make_zip({"bp.csv": (FILES / "withings_bp.csv").read_bytes() * 50}))
    header_end = 30 + len("bp.csv")
    data[header_end + 5 : header_end + 40] = b"\xff" * 35
    with pytest.raises(ImportFormatError):
        run(withings.parse, bytes(data))


def test_common_numbers_refuse_formulas_and_exponents():
    """Cells are data: `=1+2`, `1e3` and `@SUM(A1)` are not numbers."""
    for text in ("=1+2", "1e3", "@SUM(A1)", "+-1", "0x10"):
        with pytest.raises(ValueError):
            common.parse_decimal(text)
    assert common.parse_decimal("72,5", decimal_comma=True) == Decimal("72.5")


def test_generic_csv_parser_is_available_by_format_code():
    """parser_for('generic_csv') is the mapping parser (it needs `mapping=`)."""
    assert detect.parser_for("generic_csv") is generic_csv.parse_generic


# --- short rows ------------------------------------------------------------------------------

APAC_HEADER = '"Measurement Date","Timezone","SYS(mmHg)","DIA(mmHg)","Pulse(bpm)"'
GENERIC_MAPPING = ColumnMapping(datetime_column="Date", values={"weight": "Weight"})


@pytest.mark.parametrize(
    ("parse", "data", "filename"),
    [
        (omron.parse, "Date,Time,Systolic (mmHg),Diastolic (mmHg),Pulse (bpm),Notes\n"
                      "Jan 7 2025,08:02,126,81\n", "omron.csv"),
        (omron.parse, f'{APAC_HEADER}\n"2025/03/14 07:05","Asia/Bangkok","105","73"\n', "o.csv"),
        (withings.parse, 'Date,"Heart rate",Systolic,Diastolic,Comments\n'
                         '"2025-03-14 07:31:12",64,126\n', "bp.csv"),
        (withings.parse, 'Date,"Weight (kg)","Fat mass (kg)",Comments\n'
                         '"2025-03-14 07:35:02",75.76\n', "weight.csv"),
        (functools.partial(parse_generic, mapping=GENERIC_MAPPING),
         "Date,Weight,Notes\n2025-03-14 07:30,75.4\n", "x.csv"),
    ],
    ids=["omron_report", "omron_apac", "withings_bp", "withings_weight", "generic"],
)  # fmt: skip
def test_a_row_with_fewer_fields_than_the_header_is_a_row_error(parse, data, filename):
    """A short row is malformed (cut off, or a wrong delimiter inside): never a reading."""
    items = run(parse, data.encode(), filename)
    assert readings(items) == []
    (error,) = errors(items)
    assert error.line == 2 and "fields" in error.message


def test_withings_other_csv_rows_without_a_position_are_not_short():
    """other.csv is ragged by design: whole-body rows leave out the trailing position field."""
    items = run(withings.parse, "withings_other.csv", "other.csv")
    assert errors(items) == [] and readings(items)
