"""Documents' demo data, added to each demo clinic by `seed_demo` (registered in
documents.hooks): every demo patient gets two or three documents through the upload service,
so they are stored as real uploads are. A referral letter (a small PDF made with WeasyPrint),
a posture photo that only the staff see, and for every other patient a photo they uploaded
themselves. Idempotent: a record that has documents gets none added.

The files hold no name or date of birth: private storage is not encrypted, and the dump canary
(tests/test_dump_canary.py) looks for identifiers there too.
"""

from __future__ import annotations

import functools
import io

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from clinics.demo import SeededClinic
from documents.services import document_upload
from patients.models import Patient

REFERRAL_HTML = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Verwijsbrief</title>
<style>body { font-family: sans-serif; margin: 2cm; } h1 { font-size: 16pt; }</style></head>
<body><h1>Verwijsbrief fysiotherapie</h1>
<p>Graag fysiotherapie in verband met knieklachten rechts na een val, sinds zes weken.</p>
<p>Doel: belastbaarheid en stabiliteit verbeteren, traplopen zonder pijn.</p>
<p>Met vriendelijke groet, de huisarts.</p>
<p><small>Demogegevens van het portaal: geen echte patiënt.</small></p>
</body></html>"""


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    """WeasyPrint fetches nothing for the demo letter: no file, no network (SECURITY.md)."""
    raise ValueError(f"The demo letter fetches nothing ({url}).")


@functools.cache
def referral_pdf() -> bytes:
    # Imported here, not with the module: this module is loaded by every process (the seeder is
    # registered in ready()), and WeasyPrint costs half a second and logs its start-up; only
    # `seed_demo` needs it. A third-party import: no layer is dodged.
    from weasyprint import HTML

    return HTML(string=REFERRAL_HTML, url_fetcher=_no_fetch).write_pdf()


@functools.cache
def demo_png(colour: str) -> bytes:
    """A small picture: a figure's outline on a plain background."""
    image = Image.new("RGB", (320, 240), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 30, 180, 70), outline="black", width=3)
    draw.line((160, 70, 160, 160), fill="black", width=3)
    draw.line((160, 160, 130, 220), fill="black", width=3)
    draw.line((160, 160, 190, 220), fill="black", width=3)
    draw.line((120, 100, 200, 100), fill="black", width=3)
    stream = io.BytesIO()
    image.save(stream, format="PNG")
    return stream.getvalue()


def documents_demo_seed(seeded: SeededClinic) -> list[dict]:
    professional = seeded.staff["fysio1"]
    patients = Patient.objects.for_clinic(seeded.clinic).select_related("user").order_by("pk")
    for index, patient in enumerate(patients):
        if patient.documents.exists():
            continue
        upload = functools.partial(
            document_upload, clinic=seeded.clinic, patient=patient, actor=professional
        )
        upload(
            upload=ContentFile(referral_pdf(), name="verwijsbrief-huisarts.pdf"),
            title="Verwijsbrief huisarts",
        )
        upload(
            upload=ContentFile(demo_png("#dde8f0"), name="houding-staand.png"),
            title="Houdingsfoto bij intake (intern)",
            is_staff_only=True,
        )
        if index % 2 == 0 and patient.user is not None:
            document_upload(
                clinic=seeded.clinic,
                patient=patient,
                actor=patient.user,
                upload=ContentFile(demo_png("#f4e6d8"), name="IMG_0412.png"),
                title="Zwelling knie na het sporten",
                is_from_patient=True,
            )
    return []
