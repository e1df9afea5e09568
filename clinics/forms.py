from __future__ import annotations

import datetime
import unicodedata

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Role, User
from portal.dates import age_on


class PatientSignupForm(forms.Form):
    """Extra sign-up field for allauth: nobody under 16 gets an account. The date is not stored."""

    date_of_birth = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_date_of_birth(self) -> datetime.date:
        born = self.cleaned_data["date_of_birth"]
        if age_on(born, timezone.localdate()) < settings.PATIENT_MINIMUM_AGE:
            raise forms.ValidationError(
                _("You must be at least %(age)d years old to create an account.")
                % {"age": settings.PATIENT_MINIMUM_AGE},
                code="too_young",
            )
        return born

    def signup(self, request, user) -> None:
        """Called by allauth; nothing to store (data minimisation)."""


class StaffInviteForm(forms.Form):
    # The column's length: Django's form default (320) let longer addresses reach the database
    # and fail there with a 500 (found by tests/test_fuzz_forms.py).
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ClinicSwitchForm(forms.Form):
    clinic = forms.IntegerField(widget=forms.HiddenInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class AccessLogFilterForm(forms.Form):
    patient = forms.IntegerField(label=_("Patient number"), required=False, min_value=1)
    user = forms.ChoiceField(label=_("User"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, users=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", _("Everyone"))] + [(str(u.pk), u.email) for u in users]

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        return cleaned


class ClinicSettingsForm(forms.Form):
    requires_patient_mfa = forms.BooleanField(
        label=_("Patients must use two-factor authentication"),
        required=False,
        help_text=_(
            "Recommended: the Dutch regulator expects two factors for access to health data. "
            "Staff always use two factors."
        ),
    )


class DisplayNameForm(forms.Form):
    """The name colleagues see. Whitespace is trimmed and runs of it made one space; control
    and formatting characters are refused: a right-to-left override or a line break in a name
    would let it pose as someone else's on the team page or in the access log."""

    display_name = forms.CharField(
        label=_("Name"),
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text=_(
            "How your colleagues see you on the team page and in the access log, e.g. Anna de Wit."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if any(unicodedata.category(char).startswith("C") for char in name):
            raise forms.ValidationError(
                _("Use letters, spaces and punctuation only."), code="control_character"
            )
        return name
