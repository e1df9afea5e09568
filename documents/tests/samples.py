"""Files for the tests: real ones of every accepted type, and hostile ones."""

from __future__ import annotations

import io

from PIL import Image

# A PDF holding nothing but ASCII (an uncompressed one): a PDF by its header all the same.
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def image(kind: str, size: tuple[int, int] = (8, 6)) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", size, "#3366aa").save(stream, format=kind)
    return stream.getvalue()


def iso_video(brand: bytes, compatible: bytes, length: int = 4096) -> bytes:
    """An ISO media file (MP4, QuickTime) as a phone writes it: the ftyp box, then media data
    whose bytes count up, so a byte range can be checked by value."""
    ftyp = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00" + compatible
    body = bytes(i % 251 for i in range(length - len(ftyp)))
    return ftyp + body


MP4 = iso_video(b"mp42", b"mp42isom")
MOV = iso_video(b"qt  ", b"qt  qt  ")  # an iPhone's
# The EBML header of a WebM file (doctype "webm"), then data.
WEBM = (
    bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3"
    b"\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + bytes(range(200))
)

# --- hostile files ---------------------------------------------------------------------------

# A Windows executable: the DOS header "MZ" and its stub.
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
HTML_PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script>'
    b'<circle r="4"/></svg>'
)
# A valid GIF header followed by HTML and script: a GIF by content, which a record does not take.
GIF_HTML_POLYGLOT = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<html><script>alert(1)</script></html>"
# A PDF with an HTML page after its end: a PDF by content, served as one.
PDF_HTML_POLYGLOT = PDF + b"<html><body><script>alert(document.cookie)</script></body></html>\n"
# A real PNG with HTML after its end: a PNG by content, served as one, never as a page.
PNG_HTML_POLYGLOT = image("PNG") + b"<html><script>alert(1)</script></html>"
HEIC = iso_video(b"heic", b"mif1heic", length=512)  # a phone's photo; a download only
