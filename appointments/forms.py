"""The professional's appointment form: input validation only (services write).

Date and time are typed on the clinics' clocks (Europe/Amsterdam) and become one UTC instant
in `clean()`; a time the clocks skip or repeat is refused with what happens that night."""

from __future__ import annotations

import datetime

from django import forms
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from appointments.models import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES, Appointment
from appointments.times import AmbiguousLocalTime, NonexistentLocalTime, aware_from_local, local
from clinics.models import User

# How far from today an appointment may be planned: enough for a record kept after the fact
# and for a long course of treatment; outside it a date is a typing error (SECURITY.md T44).
PLANNED_AT_MOST_DAYS_AGO = 366
PLANNED_AT_MOST_DAYS_AHEAD = 2 * 366

SKIPPED_TIME = _(
    "%(time)s on %(date)s does not exist in Dutch time: the clocks go forward from 02:00 to "
    "03:00 that night. Choose another time."
)
REPEATED_TIME = _(
    "%(time)s on %(date)s happens twice in Dutch time: the clocks go back from 03:00 to 02:00 "
    "that night. Choose a time before 02:00 or from 03:00."
)
OUT_OF_RANGE = _("Choose a date between %(earliest)s and %(latest)s.")

NOT_HTTPS = _("Enter a secure web address that starts with https://.")


class HttpsURLField(forms.URLField):
    """A web address with https only (no http:, javascript: or data: link in a patient's page
    or calendar); one error message, not Django's generic one beside it."""

    default_validators = [URLValidator(schemes=["https"], message=NOT_HTTPS)]
    default_error_messages = {"invalid": NOT_HTTPS}


class ProfessionalChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return str(user)  # the name the team page shows, else the e-mail address


class AppointmentForm(forms.Form):
    date = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        # The date picker sends ISO dates; typed by hand (no picker) the clinic's dd-mm-yyyy.
        input_formats=["%Y-%m-%d", "%d-%m-%Y"],
        error_messages={"invalid": _("Enter a date as dd-mm-yyyy.")},
    )
    time = forms.TimeField(
        label=_("Time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M"],
        help_text=_("Dutch time (Europe/Amsterdam), 24-hour clock."),
        error_messages={"invalid": _("Enter a time as hh:mm, for example 09:30.")},
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"),
        min_value=MIN_DURATION_MINUTES,
        max_value=MAX_DURATION_MINUTES,
        initial=30,
    )
    # Empty: the person saving the form (who plans an appointment usually holds it).
    professional = ProfessionalChoiceField(
        label=_("With"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Me"),
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    video_url = HttpsURLField(
        label=_("Video link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("For a video appointment: the https:// link the patient opens."),
    )
    note = forms.CharField(
        label=_("Note for the patient"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the patient on their appointments page; never in a calendar."),
    )

    def __init__(self, *args: object, professionals: QuerySet[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["professional"].queryset = professionals

    @classmethod
    def initial_for(cls, appointment: Appointment) -> dict:
        starts = local(appointment.starts_at)
        return {
            "date": starts.date(),
            "time": starts.time(),
            "duration_minutes": appointment.duration_minutes,
            "professional": appointment.professional_id,
            "location": appointment.location,
            "video_url": appointment.video_url,
            "note": appointment.note,
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        day, time = cleaned.get("date"), cleaned.get("time")
        if day is None or time is None:
            return cleaned
        # The range first: a date far out (year 1) could not even be turned into an instant.
        today = timezone.localdate()
        earliest = today - datetime.timedelta(days=PLANNED_AT_MOST_DAYS_AGO)
        latest = today + datetime.timedelta(days=PLANNED_AT_MOST_DAYS_AHEAD)
        if not earliest <= day <= latest:
            bounds = {
                "earliest": date_format(earliest, "SHORT_DATE_FORMAT"),
                "latest": date_format(latest, "SHORT_DATE_FORMAT"),
            }
            self.add_error("date", OUT_OF_RANGE % bounds)
            return cleaned
        shown = {"date": date_format(day, "SHORT_DATE_FORMAT"), "time": time.strftime("%H:%M")}
        try:
            cleaned["starts_at"] = aware_from_local(day, time)
        except NonexistentLocalTime:
            self.add_error("time", SKIPPED_TIME % shown)
        except AmbiguousLocalTime:
            self.add_error("time", REPEATED_TIME % shown)
        return cleaned
