from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from documents.file_types import ACCEPTED_DESCRIPTION
from documents.services import TITLE_MAX_LENGTH


class DocumentUploadForm(forms.Form):
    """The patient's upload: a file and an optional title."""

    title = forms.CharField(
        label=_("Title"),
        max_length=TITLE_MAX_LENGTH,
        required=False,
        help_text=_("Leave it empty to use the file's name."),
    )
    file = forms.FileField(label=_("File"), help_text=ACCEPTED_DESCRIPTION)


class StaffDocumentUploadForm(DocumentUploadForm):
    """The staff's upload: may also keep the document from the patient."""

    staff_only = forms.BooleanField(
        label=_("Only for the clinic's staff: the patient does not see this document"),
        required=False,
    )


class StaffOnlyForm(forms.Form):
    staff_only = forms.BooleanField(required=False)
