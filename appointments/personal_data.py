"""Personal data held by appointments' models. See portal.personal_data for what a declaration
says.

Appointments are part of the clinic's medical record (who was seen when, by whom, where): they
follow the record's own legal period (WGBO, 20 years after the last treatment) and are deleted
with the record, never by age. Hence no retention period and no purge for them. A calendar
feed is the patient's own convenience: it lives until they stop it, and goes by the retention
purge once the record is no longer linked to their account (appointments.purges).
"""

import datetime

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register


def register_all() -> None:
    register(
        "appointments.Appointment",
        subject=Subject.PATIENT,
        purpose=_(
            "appointments planned for a patient: when, how long, with whom, where or the video "
            "link and a note for the patient (location, link and note encrypted)"
        ),
        retention=None,
        retention_note=_("with the clinic's record (WGBO: 20 years after the last treatment)"),
        export=_("included in the GDPR export; each appointment also as an .ics file"),
        erasure=Erasure.DELETE,
        erasure_reason=_(
            "part of the medical record: cancelled, never deleted one by one; deleted with the "
            "patient record"
        ),
    )
    register(
        "appointments.CalendarFeed",
        subject=Subject.PATIENT,
        purpose=_(
            "the patient's private calendar link: a digest of its secret, the language and "
            "when it was made"
        ),
        # Nothing to wait for: once the record has no account, the feed's owner is gone.
        retention=datetime.timedelta(0),
        retention_note=_(
            "until the patient stops it or makes a new one; deleted once the record is no "
            "longer linked to the patient's account"
        ),
        export=_("not exported: a digest of a secret link"),
        erasure=Erasure.DELETE,
        erasure_reason=_(
            "deleted when stopped, by the retention purge, and with the patient record"
        ),
    )
