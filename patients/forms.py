from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class PatientForm(forms.ModelForm):
    """Only the identifying fields: clinic and account link are never taken from the form."""

    class Meta:
        model = Patient
        fields = ["given_name", "family_name", "date_of_birth", "email", "phone", "notes"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class PatientInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Leave empty to hand over the QR code in person."),
    )


class PatientSearchForm(forms.Form):
    q = forms.CharField(label=_("Search by name"), required=False, max_length=100)
    alerts = forms.BooleanField(label=_("Only patients with open alerts"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("attention", _("needs attention first")),
            ("number", _("patient number")),
            ("alerts", _("open alerts")),
            ("last_reading", _("longest without a reading")),
        ],
    )
