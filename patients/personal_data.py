"""Personal data held by patients' models. See portal.personal_data for what a declaration says."""

import datetime

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register, register_subject

WITH_RECORD = _("with the clinic's record (WGBO: 20 years after the last treatment)")
EXPORTED = _("included in the GDPR export")
DELETED_WITH_RECORD = _("deleted with the patient record")


def register_all() -> None:
    register_subject(Subject.PATIENT, "patients.Patient")

    register(
        "patients.Patient",
        subject=Subject.PATIENT,
        purpose=_(
            "the clinic's patient record: name, date of birth, contact details, notes "
            "(encrypted), the linked account"
        ),
        retention=None,
        retention_note=_("WGBO: 20 years after the last treatment"),
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=_(
            "destroyed by the clinic within 3 months of the patient's request, unless the law "
            "requires keeping it; a cancelled account is unlinked from it"
        ),
    )
    register(
        "patients.PatientNameToken",
        subject=Subject.PATIENT,
        purpose=_("searching records by name: keyed hashes of name prefixes"),
        retention=None,
        retention_note=WITH_RECORD,
        export=_("not exported: derived from the name"),
        erasure=Erasure.DELETE,
        erasure_reason=DELETED_WITH_RECORD,
    )
    register(
        "patients.PatientInvitation",
        subject=Subject.PATIENT,
        purpose=_("inviting a patient to link an account to the record: e-mail, token digest"),
        retention=datetime.timedelta(days=30),
        retention_note=_("30 days after the invitation expires (used or not)"),
        export=_("not exported: a short-lived invitation"),
        erasure=Erasure.DELETE,
        erasure_reason=_("deleted by the retention purge"),
    )
    register(
        "patients.ImportBatch",
        subject=Subject.PATIENT,
        purpose=_("an uploaded measurement file, its preview and the summary of its import"),
        retention=datetime.timedelta(hours=48),
        retention_note=_(
            "an upload left waiting 48 hours for its columns or confirmation is cancelled and "
            "its file deleted; one still queued or running twice as long (96 hours: its worker "
            "was lost) is marked failed and its file deleted; the summary stays with the record"
        ),
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=_("files deleted on cancellation; the summary is deleted with the record"),
        in_clear=_(
            "the uploaded export file, unencrypted in private storage (put it on an encrypted "
            "volume) for as long as its import needs it, at most 96 hours"
        ),
    )
    register(
        "patients.Measurement",
        subject=Subject.PATIENT,
        purpose=_("home measurements entered by hand or imported from devices"),
        retention=None,
        retention_note=WITH_RECORD,
        export=_("included in the GDPR export (also as FHIR R4)"),
        erasure=Erasure.ANONYMISE,
        erasure_reason=_("anonymised when the account is cancelled, so they cannot be traced back"),
    )
    register(
        "patients.LatestReading",
        subject=Subject.PATIENT,
        purpose=_(
            "a copy of the newest reading of each kind per patient, kept by the database for "
            "the dashboard's triage"
        ),
        retention=None,
        retention_note=_("follows the readings: the database recomputes it when they change"),
        export=_("not exported separately: the readings it copies are"),
        erasure=Erasure.DELETE,
        erasure_reason=_("recomputed from the readings, deleted with them"),
    )
    register(
        "patients.DailyReading",
        subject=Subject.PATIENT,
        purpose=_(
            "per patient, kind and day, how many readings and their sums, kept by the database "
            "for the dashboard's trends and 30-day lines"
        ),
        retention=None,
        retention_note=_("follows the readings: the database recomputes it when they change"),
        export=_("not exported separately: the readings it sums are"),
        erasure=Erasure.DELETE,
        erasure_reason=_("recomputed from the readings, deleted with them"),
    )
    register(
        "patients.ThresholdRule",
        subject=Subject.PATIENT,
        purpose=_("a professional's threshold rules for a patient's measurements"),
        retention=None,
        retention_note=WITH_RECORD,
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=DELETED_WITH_RECORD,
    )
    register(
        "patients.Alert",
        subject=Subject.PATIENT,
        purpose=_("out-of-range and missing-reading alerts and who acknowledged them"),
        retention=None,
        retention_note=WITH_RECORD,
        export=EXPORTED,
        erasure=Erasure.DELETE,
        erasure_reason=_("acknowledged, never deleted one by one; deleted with the record"),
    )
