"""Numbers as the user reads them (portal.numbers.fixed)."""

from decimal import Decimal

import pytest
from django.utils import translation

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
