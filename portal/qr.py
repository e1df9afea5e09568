"""QR codes, drawn on the server as SVG (qrcode's SVG path image: no image library, no
script): the authenticator enrolment and the chat's join posters."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg


def qr_svg(text: str, *, box_size: int = 8) -> bytes:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (allowed by the CSP's img-src)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text)).decode("ascii")
