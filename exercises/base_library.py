"""The base exercise library that ships with the product: exercises/data/base_library.json.

The file is data, written for patients in Dutch and English. A data migration loads it; a later
release that changes the file adds a migration calling `base_library_load` again, which updates
exercises by their stable `key` and adds new ones (clinics' copies keep their own texts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exercises.models import DEFAULT_FIELDS, Exercise

DATA_FILE = Path(__file__).resolve().parent / "data" / "base_library.json"


def base_library_entries(path: Path = DATA_FILE) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return json.load(file)


def base_library_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry of the data file as the Exercise model's fields."""
    return {
        "name_nl": entry["name"]["nl"],
        "name_en": entry["name"]["en"],
        "instructions_nl": entry["instructions"]["nl"],
        "instructions_en": entry["instructions"]["en"],
        "region": entry["region"],
        "equipment": list(entry["equipment"]),
        "difficulty": entry["difficulty"],
        "tags": list(entry["tags"]),
        **{field: entry["defaults"][name] for name, field in DEFAULT_FIELDS.items()},
    }


def base_library_ensure() -> None:
    """Load the library if the table holds none of it (tests: a flush empties what a data
    migration loaded)."""
    if not Exercise.objects.base().exists():
        base_library_load(Exercise)


def base_library_load(exercise_model: Any, path: Path = DATA_FILE) -> int:
    """Create or update every base exercise from the file (the model is the migration's
    historical one). Returns how many entries the file has."""
    entries = base_library_entries(path)
    for entry in entries:
        exercise_model.objects.update_or_create(
            clinic=None, key=entry["key"], defaults=base_library_fields(entry)
        )
    return len(entries)
