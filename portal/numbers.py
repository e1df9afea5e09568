"""Numbers as the user reads them: the one place that turns a measured value into text.

A value is shown with a fixed count of decimals (the kind catalogue's), rounded half up (77.85 →
77.9, as a clinician rounds, not the banker's 77.8), with the active language's decimal separator
(Dutch 77,9; English 77.9) and no grouping. Tables, chart labels and, later, PDFs use it; stored
values keep what the device measured.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal

from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import get_language

# Longer numbers take Django's own formatting (which writes more than 200 digits in scientific
# notation).
_PLAIN_DIGITS = 200


@functools.lru_cache(maxsize=8)
def _decimal_separator(language: str | None) -> str:
    return get_format("DECIMAL_SEPARATOR", language)


def fixed(value: Decimal | float | int | None, places: int, *, language: str | None = "") -> str:
    """`value` with `places` decimals ("" for no value), in `language` if one is given (the
    tables read the active one once per table), else in the active language. A float goes
    through its shortest text first, so 77.85 stays 77.85 rather than 77.8499… before rounding."""
    if value is None:
        return ""
    return _fixed(value, places, _decimal_separator(get_language() if language == "" else language))


# Tables repeat their values (pain 0-10, a weight to one decimal, percentages): each text is
# made once. Typed, because a float and a Decimal that compare equal may round differently.
@functools.lru_cache(maxsize=4096, typed=True)
def _fixed(value: Decimal | float | int, places: int, separator: str) -> str:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    _sign, digits, exponent = rounded.as_tuple()
    if abs(exponent) + len(digits) > _PLAIN_DIGITS:  # pragma: no cover - no value is this long
        return numberformat.format(rounded, separator, decimal_pos=places)
    # What numberformat.format makes of it without grouping, written directly (half the time of
    # the whole call): the quantized digits as they are, and no "-0" for a zero, as Django
    # writes it.
    text = f"{rounded.copy_abs() if rounded.is_zero() else rounded:f}"
    return text if separator == "." else text.replace(".", separator)
