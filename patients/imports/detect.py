"""Which parser reads an upload: by its content first (the first KB of it), its name second.

Content signatures (device-formats.md, section 7): an OMRON or Withings CSV header under any of
the usual delimiters (BOM and quotes stripped); `<?xml` with the HealthData root (Apple); ZIP
magic plus the member names visible in the local headers at the start of the archive (Apple's
`apple_health_export/`, Withings' `bp.csv`, `weight.csv`...); a JSON object naming a
`resourceType` (FHIR). File names (`Your Requested OMRON Report…`, `[OMRON]`, `export.xml`...)
only decide when the content does not. A ZIP whose first members do not tell is "zip", parsed
by `parse_zip`, which looks at the whole member list.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from . import apple, archive, fhir, generic_csv, omron, withings
from .base import ImportFormatError, Item
from .common import head_lines, parser

HEAD_BYTES = 64 * 1024  # how much of the file `detect` wants to see
ZIP = "zip"
GENERIC_CSV = generic_csv.FORMAT_CODE
_BUNDLE = re.compile(rb'"resourceType"\s*:\s*"')
_WITHINGS_MEMBERS = (b"bp.csv", b"weight.csv", b"height.csv", b"account.csv", b"aggregates_")


def detect(filename: str, head: bytes) -> str:
    """The format code of a file from its name and first bytes (HEAD_BYTES is plenty)."""
    code = _by_content(head) or _by_name(filename)
    if code is None:
        raise ImportFormatError(
            _(
                "This is not a recognised export (OMRON, Withings, Apple Health or FHIR). "
                "For another CSV file, choose the columns yourself."
            )
        )
    return code


def _by_content(head: bytes) -> str | None:
    if archive.is_zip(head):
        if b"apple_health_export/" in head or b"export.xml" in head:
            return apple.FORMAT_CODE
        if any(name in head for name in _WITHINGS_MEMBERS):
            return withings.FORMAT_CODE
        return ZIP
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return apple.FORMAT_CODE if b"HealthData" in text[:HEAD_BYTES] else None
    if text.startswith(b"{"):
        return fhir.FORMAT_CODE if _BUNDLE.search(text) else None
    return _csv_format(head)


def _csv_format(head: bytes) -> str | None:
    lines = head_lines(head)
    if not lines:
        return None
    if omron.sniff(lines[0]):
        return omron.FORMAT_CODE
    if withings.sniff(lines[0]):
        return withings.FORMAT_CODE
    return None


def _by_name(filename: str) -> str | None:
    name = archive.basename(filename.replace("\\", "/")).casefold()
    if "omron" in name and name.endswith(".csv"):
        return omron.FORMAT_CODE
    if name in ("bp.csv", "weight.csv"):
        return withings.FORMAT_CODE
    if name.endswith(".xml"):
        return apple.FORMAT_CODE
    if name.endswith(".json"):
        return fhir.FORMAT_CODE
    if name.endswith(".zip"):
        return ZIP
    return None


@parser(ZIP)
def parse_zip(stream: BinaryIO, *, filename: str, tz: datetime.tzinfo) -> Iterator[Item]:
    """A ZIP whose first bytes did not say what it is: decide on its member list."""
    with archive.open_zip(stream) as zipped:
        names = [archive.basename(n).casefold() for n in archive.member_names(zipped)]
        if any(n.endswith(".xml") for n in names):
            yield from apple.parse_archive(zipped, tz)
        elif any(n in withings.MEMBERS for n in names):
            yield from withings.parse_archive(zipped, tz)
        else:
            raise ImportFormatError(
                _("This ZIP file is neither an Apple Health nor a Withings export.")
            )


PARSERS: dict[str, Callable[..., Iterator[Item]]] = {
    omron.FORMAT_CODE: omron.parse,
    withings.FORMAT_CODE: withings.parse,
    apple.FORMAT_CODE: apple.parse,
    fhir.FORMAT_CODE: fhir.parse,
    ZIP: parse_zip,
    # Needs a `mapping=` keyword argument besides the Parser protocol's.
    GENERIC_CSV: generic_csv.parse_generic,
}


def parser_for(format_code: str) -> Callable[..., Iterator[Item]]:
    try:
        return PARSERS[format_code]
    except KeyError:
        raise ImportFormatError(_("This is not a recognised export.")) from None
