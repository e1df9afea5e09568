"""Which files a patient record takes, decided by their content (portal.private_files.sniff),
never by the name or the browser's Content-Type, and how each is shown.

- Accepted: PDF; JPEG, PNG, WebP and HEIC photos; MP4, QuickTime (MOV) and WebM videos (what
  phones record). Everything else is refused, SVG and HTML above all: they are text, and text
  is never accepted, so nothing a browser would run as a page is ever stored.
- Every file is served as an attachment, except the raster images a browser draws without
  running anything (JPEG, PNG, WebP), which may also be previewed inline. HEIC is offered as a
  download only: most browsers cannot draw it.
- Videos are played by a `<video>` element from the download URL (a media element ignores
  Content-Disposition), which answers byte ranges so a phone can seek.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from portal.private_files import (
    HEIC,
    INLINE_IMAGE_TYPES,
    JPEG,
    MP4,
    PDF,
    PNG,
    QUICKTIME,
    VIDEO_TYPES,
    WEBM,
    WEBP,
)

# The type as a person calls it, for lists and messages.
TYPE_LABELS = {
    PDF: _("PDF document"),
    JPEG: _("JPEG photo"),
    PNG: _("PNG image"),
    WEBP: _("WebP image"),
    HEIC: _("HEIC photo"),
    MP4: _("MP4 video"),
    QUICKTIME: _("MOV video"),
    WEBM: _("WebM video"),
}
ACCEPTED_TYPES = frozenset(TYPE_LABELS)
__all__ = ["ACCEPTED_TYPES", "INLINE_IMAGE_TYPES", "TYPE_LABELS", "VIDEO_TYPES", "type_label"]

ACCEPTED_DESCRIPTION = _(
    "PDF documents, photos (JPEG, PNG, WebP, HEIC) and videos (MP4, MOV, WebM)"
)


def type_label(content_type: str) -> str:
    return str(TYPE_LABELS.get(content_type, content_type))
