"""Numbers as the user reads them (portal.numbers.fixed)."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import numberformat, translation
from django.utils.formats import get_format
from hypothesis import given
from hypothesis import strategies as st

from portal.numbers import fixed


@pytest.mark.parametrize(
    ("value", "places", "dutch", "english"),
    [
        (Decimal("77.85"), 1, "77,9", "77.9"),
        (77.85, 1, "77,9", "77.9"),  # a float is not 77.8499… here
        (Decimal("3.05"), 1, "3,1", "3.1"),
        (Decimal("1234.5"), 0, "1235", "1235"),  # no grouping, half up
        (150, 0, "150", "150"),
        (None, 1, "", ""),
    ],
)
def test_values_are_rounded_half_up_in_the_users_language(value, places, dutch, english):
    with translation.override("nl"):
        assert fixed(value, places) == dutch
    with translation.override("en"):
        assert fixed(value, places) == english


@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**7), max_value=10**7),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e7, max_value=1e7),
        st.integers(min_value=-(10**9), max_value=10**9),
    ),
    places=st.integers(min_value=0, max_value=3),
    language=st.sampled_from(["nl", "en"]),
)
def test_the_text_is_djangos_number_format_without_grouping(value, places, language):
    """`fixed` writes the rounded digits itself (Django's numberformat was most of a long
    table's formatting): the same text as numberformat, negative zeros included."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    separator = get_format("DECIMAL_SEPARATOR", language)
    expected = numberformat.format(rounded, separator, decimal_pos=places, use_l10n=False)
    assert fixed(value, places, language=language) == expected
