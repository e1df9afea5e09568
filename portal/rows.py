"""Models from hand-written SQL: a model's select list, and instances built from a statement's
rows with each value converted as the ORM converts it (an encrypted field decrypts).

For the few statements a page runs on every visit where building them through the ORM cost more
than the database's work: the signed-in request's memberships (clinics.tenancy) and the
patient's day (exercises.selectors.patient_days). The instances are ordinary saved models
(`Model.from_db`, as the ORM makes its own); a related object set on them is cached like one
from `select_related`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field, Model


@dataclass(frozen=True)
class ModelColumns:
    """A model's columns under a table alias: `sql` for the select list, `build` for a row's
    slice of `width` values in that order."""

    model: type[Model]
    sql: str
    names: tuple[str, ...]  # the fields' attnames, in column order
    converters: tuple[tuple[int, Any, tuple[Callable, ...]], ...]  # (position, column, converters)

    @property
    def width(self) -> int:
        return len(self.names)

    def build(self, values: Sequence[Any]) -> Model:
        values = list(values)
        for position, column, converters in self.converters:
            for convert in converters:
                values[position] = convert(values[position], column, connection)
        return self.model.from_db(connection.alias, self.names, values)


@functools.cache
def model_columns(
    model: type[Model], alias: str, exclude: frozenset[str] = frozenset()
) -> ModelColumns:
    """The concrete fields of `model` but `exclude` (names), read through `alias`. An excluded
    field is deferred on the instances, as with `QuerySet.defer`."""
    quote = connection.ops.quote_name
    fields: list[Field] = [f for f in model._meta.concrete_fields if f.name not in exclude]
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(alias)
        found = (*connection.ops.get_db_converters(column), *column.get_db_converters(connection))
        if found:
            converters.append((position, column, found))
    return ModelColumns(
        model=model,
        sql=", ".join(f"{alias}.{quote(f.column)}" for f in fields),
        names=tuple(f.attname for f in fields),
        converters=tuple(converters),
    )
