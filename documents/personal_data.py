"""Personal data held by documents' models. See portal.personal_data for what a declaration says.

Documents belong to the clinic's medical record (WGBO): they have no period of their own and go
with the record, their files with them (the sweep of private files deletes the files no row
names any more).
"""

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register


def register_all() -> None:
    register(
        "documents.RecordDocument",
        subject=Subject.PATIENT,
        purpose=_(
            "documents, photos and videos on the patient record, uploaded by the clinic's staff "
            "or the patient: title and file name (encrypted), type, size, who uploaded it, "
            "whether the patient sees it"
        ),
        retention=None,
        retention_note=_("with the clinic's record (WGBO: 20 years after the last treatment)"),
        export=_("included in the GDPR export; the patient also downloads each one they see"),
        erasure=Erasure.DELETE,
        erasure_reason=_(
            "deleted by the clinic or by the patient who uploaded it, with its file; all of "
            "them with the patient record"
        ),
        in_clear=_(
            "the uploaded files themselves, unencrypted in private storage (put it on an "
            "encrypted volume), under random names, served only to those allowed to see them"
        ),
    )
