"""allauth's account forms in the portal's words.

Apart from clinics.forms because allauth.account.forms imports that module
(ACCOUNT_SIGNUP_FORM_CLASS): importing allauth's forms from there would be circular.
"""

from __future__ import annotations

from allauth.account.forms import AddEmailForm, ResetPasswordForm
from django import forms
from django.utils.translation import gettext_lazy as _


def _portal_email_field(form: forms.Form) -> None:
    """The portal's word for the field allauth calls "Email": "E-mail address" / "E-mailadres"."""
    field = form.fields["email"]
    field.label = _("E-mail address")
    field.widget.attrs.pop("placeholder", None)


class PortalAddEmailForm(AddEmailForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _portal_email_field(self)


class PortalResetPasswordForm(ResetPasswordForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _portal_email_field(self)
