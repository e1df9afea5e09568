"""Personal data held by the exercises app. See portal.personal_data for what a declaration says.

Programs and what the patient logged are part of the clinic's medical record (WGBO). The
library and the templates hold no patient data: only which staff member made them.
"""

from django.utils.translation import gettext_lazy as _

from portal.personal_data import Erasure, Subject, register

WITH_RECORD = _("with the clinic's record (WGBO: 20 years after the last treatment)")
EXPORTED = _("included in the GDPR export")
DELETED_WITH_RECORD = _("deleted with the patient record")
AUTHOR_KEPT = _("the author link is cleared when the staff account is deleted")


def register_all() -> None:
    for model, purpose in (
        ("exercises.Program", _("a patient's exercise program")),
        (
            "exercises.ProgramVersion",
            _("what a program prescribed from when (title, goal, dates), and who changed it"),
        ),
        ("exercises.ProgramItem", _("an exercise of a program version with its parameters")),
        ("exercises.ExerciseLog", _("the exercises a patient ticked off, per day")),
        ("exercises.SessionLog", _("a patient's pain, effort and comment per day")),
        ("exercises.ExerciseReminder", _("on which days a patient wants an exercise reminder")),
    ):
        register(
            model,
            subject=Subject.PATIENT,
            purpose=purpose,
            retention=None,
            retention_note=WITH_RECORD,
            export=EXPORTED,
            erasure=Erasure.DELETE,
            erasure_reason=DELETED_WITH_RECORD,
        )
    for model, purpose in (
        ("exercises.Exercise", _("a clinic's own exercise and which staff member added it")),
        ("exercises.ProgramTemplate", _("a clinic's program template and who made it")),
        ("exercises.ExerciseMedia", _("a photo or video of a clinic's exercise and who added it")),
    ):
        register(
            model,
            subject=Subject.USER,
            purpose=purpose,
            retention=None,
            retention_note=_("for as long as the clinic keeps it"),
            export=_("not exported: the clinic's material, not data about the person"),
            erasure=Erasure.KEEP,
            erasure_reason=AUTHOR_KEPT,
        )
