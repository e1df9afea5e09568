"""Dates and times as the exports write them, turned into aware datetimes.

OMRON's connect report writes the phone's locale: `Jan 6 2025`, `21 Nov 2024`, `13 Juli 2026`,
`20 may. 2026`, with a 24 h or a 12 h clock (`05:22 am`, `5:22 p. m.`), and no time zone: the
patient's zone (`tz`) is attached. The month tables are per language and merged, which is safe
because no abbreviation means two different months across EN, NL, DE, ES and FR (a test checks
it); a file whose header is English may still carry Dutch months when the phone is Dutch.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from functools import lru_cache

MONTHS_EN = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
MONTHS_NL = {
    "jan": 1,
    "januari": 1,
    "feb": 2,
    "februari": 2,
    "mrt": 3,
    "maa": 3,
    "maart": 3,
    "apr": 4,
    "april": 4,
    "mei": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "aug": 8,
    "augustus": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
MONTHS_DE = {
    "jan": 1,
    "januar": 1,
    "jänner": 1,
    "feb": 2,
    "februar": 2,
    "mär": 3,
    "mrz": 3,
    "märz": 3,
    "maerz": 3,
    "apr": 4,
    "april": 4,
    "mai": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "nov": 11,
    "november": 11,
    "dez": 12,
    "dezember": 12,
}
MONTHS_ES = {
    "ene": 1,
    "enero": 1,
    "feb": 2,
    "febrero": 2,
    "mar": 3,
    "marzo": 3,
    "abr": 4,
    "abril": 4,
    "may": 5,
    "mayo": 5,
    "jun": 6,
    "junio": 6,
    "jul": 7,
    "julio": 7,
    "ago": 8,
    "agosto": 8,
    "sep": 9,
    "sept": 9,
    "septiembre": 9,
    "setiembre": 9,
    "oct": 10,
    "octubre": 10,
    "nov": 11,
    "noviembre": 11,
    "dic": 12,
    "diciembre": 12,
}
MONTHS_FR = {
    "janv": 1, "janvier": 1, "févr": 2, "fevr": 2, "février": 2, "mars": 3, "avr": 4,
    "avril": 4, "mai": 5, "juin": 6, "juil": 7, "juillet": 7, "août": 8, "aout": 8, "sept": 9,
    "septembre": 9, "oct": 10, "octobre": 10, "nov": 11, "novembre": 11, "déc": 12, "dec": 12,
    "décembre": 12,
}  # fmt: skip
MONTH_TABLES = {"en": MONTHS_EN, "nl": MONTHS_NL, "de": MONTHS_DE, "es": MONTHS_ES, "fr": MONTHS_FR}
MONTHS: dict[str, int] = {}
for _table in MONTH_TABLES.values():
    MONTHS.update(_table)

# Words a localized date may carry besides day, month and year ("20 de may. de 2026").
_FILLERS = {"de", "del", "the", "of"}
_TOKEN = re.compile(r"[^\W\d_]+|\d+")


class DateFormatError(ValueError):
    pass


@lru_cache(maxsize=4096)  # a report repeats the same dates many times
def parse_month_name_date(text: str) -> datetime.date:
    """`Jan 6 2025`, `21 Nov 2024`, `13 Juli 2026`, `20 may. 2026`, `Jan 06, 2025`."""
    tokens = _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())
    words = [t for t in tokens if not t.isdigit() and t not in _FILLERS]
    numbers = [t for t in tokens if t.isdigit()]
    if len(words) != 1 or len(numbers) != 2 or words[0] not in MONTHS:
        raise DateFormatError(text)
    year_first = len(numbers[0]) == 4
    year, day = (numbers[0], numbers[1]) if year_first else (numbers[1], numbers[0])
    if len(year) != 4:
        raise DateFormatError(text)
    try:
        return datetime.date(int(year), MONTHS[words[0]], int(day))
    except ValueError:
        raise DateFormatError(text) from None


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])?\.?\s*(?:m\.?)?", re.IGNORECASE)


@lru_cache(maxsize=4096)
def parse_clock(text: str) -> datetime.time:
    """`08:12`, `8:12:30`, `05:22 am`, `5:22 PM`, `5:22 p. m.` (Spanish), `6:04 Uhr`."""
    cleaned = text.strip().removesuffix("Uhr").strip()
    match = _CLOCK.fullmatch(cleaned)
    if not match:
        raise DateFormatError(text)
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise DateFormatError(text)
        hour = hour % 12 + (12 if match[4].casefold() == "p" else 0)
    try:
        return datetime.time(hour, minute, second)
    except ValueError:
        raise DateFormatError(text) from None


def aware(day: datetime.date, clock: datetime.time, tz: datetime.tzinfo) -> datetime.datetime:
    """A naive local date and time in the patient's zone (fold=0: the first of a repeated hour)."""
    return datetime.datetime.combine(day, clock, tzinfo=tz)


NOON = datetime.time(12, 0)

_NUMERIC = re.compile(
    r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})(?:[ T]+(\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?))?"
    r"\s*(?:Uhr)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_numeric_datetime(
    text: str, tz: datetime.tzinfo, *, day_first: bool = True
) -> datetime.datetime:
    """`2024-01-05 08:01:00`, `2024/01/05 08:01`, `2024-01-05T08:01:00+01:00`, `05-01-2024 08:01`,
    `05/01/2024`, `2014-02-13 6:04 Uhr`. Year first is ISO; otherwise day first (Europe), unless
    `day_first` is False. A date without a time is taken at local noon; no offset → `tz`."""
    match = _NUMERIC.fullmatch(text.strip())
    if not match:
        raise DateFormatError(text)
    first, second, third, clock_text, offset = match.groups()
    if len(first) == 4:
        year, month, day = first, second, third
    elif len(third) == 4:
        day, month, year = (first, second, third) if day_first else (second, first, third)
    else:
        raise DateFormatError(text)
    try:
        date = datetime.date(int(year), int(month), int(day))
        clock = parse_clock(clock_text.split(".")[0]) if clock_text else NOON
    except ValueError:
        raise DateFormatError(text) from None
    if offset:
        if offset.upper() == "Z":
            zone: datetime.tzinfo = datetime.UTC
        else:
            digits = offset.replace(":", "")
            minutes = int(digits[1:3]) * 60 + int(digits[3:5])
            zone = datetime.timezone(
                datetime.timedelta(minutes=-minutes if digits[0] == "-" else minutes)
            )
        return datetime.datetime.combine(date, clock, tzinfo=zone)
    return aware(date, clock, tz)
